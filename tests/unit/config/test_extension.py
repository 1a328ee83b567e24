"""x-kdeploy: settings only kdeploy reads."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.errors import ConfigError


def test_extension(load):
    config = load(variant(**{"x-kdeploy": {"python_interpreter": "/usr/bin/python3"},
                             "x-other": {"ignored": True}}))
    assert config.extension.python_interpreter == "/usr/bin/python3"


def test_hooks_default_to_none(load):
    assert dict(load(variant()).extension.hooks) == {}


def test_hooks_keep_their_playbooks_in_order(load):
    hooks = {"pre-deploy": ["hooks/a.yml", "hooks/b.yml"], "post-deploy": ["hooks/c.yml"]}
    config = load(variant(**{"x-kdeploy": {"hooks": hooks}}))
    assert dict(config.extension.hooks) == {
        "pre-deploy": ("hooks/a.yml", "hooks/b.yml"), "post-deploy": ("hooks/c.yml",)}
    assert config.to_dict()["x-kdeploy"]["hooks"] == hooks


@pytest.mark.parametrize(("hooks", "message"), [
    ({"pre-deploy": "hooks/a.yml"}, "x-kdeploy/hooks/pre-deploy: should be an array"),
    ({"post-deploy": None}, "x-kdeploy/hooks/post-deploy: should be an array"),
    ({"pre-deploy": [["a.yml"]]}, "x-kdeploy/hooks/pre-deploy/0: should be a string"),
    ({"pre-build": ["a.yml"]}, "x-kdeploy/hooks: unknown key: pre-build"),
    ({"pre-connect": ["a.yml"], "later": ["b.yml"]},
     "x-kdeploy/hooks: unknown keys: later, pre-connect"),
    (["hooks/a.yml"], "x-kdeploy/hooks: should be a hash"),
])
def test_hooks_are_checked_naming_the_key(load, hooks, message):
    with pytest.raises(ConfigError) as error:
        load(variant(**{"x-kdeploy": {"hooks": hooks}}))
    assert error.value.message.endswith(f"deploy.yml: {message}")


@pytest.mark.parametrize(("raw", "forks"), [
    ({}, 30),
    ({"x-kdeploy": {"forks": 100}}, 100),
    ({"sshkit": {"max_concurrent_starts": 10}}, 10),
    ({"sshkit": {"max_concurrent_starts": 10}, "x-kdeploy": {"forks": 50}}, 50),
    ({"sshkit": {"max_concurrent_starts": 0}}, 1),
])
def test_forks_default_to_kamals_max_concurrent_starts(load, raw, forks):
    config = load(variant(**raw))
    assert config.forks == forks
    assert config.to_dict()["x-kdeploy"]["forks"] == raw.get("x-kdeploy", {}).get("forks")


@pytest.mark.parametrize(("forks", "message"), [
    (0, "x-kdeploy/forks: should be at least 1"),
    (-5, "x-kdeploy/forks: should be at least 1"),
    ("10", "x-kdeploy/forks: should be an integer"),
    (True, "x-kdeploy/forks: should be an integer"),
    (2.5, "x-kdeploy/forks: should be an integer"),
])
def test_forks_are_checked_naming_the_key(load, forks, message):
    with pytest.raises(ConfigError) as error:
        load(variant(**{"x-kdeploy": {"forks": forks}}))
    assert error.value.message.endswith(f"deploy.yml: {message}")


def test_host_keys_are_checked_unless_turned_off(load):
    assert load(variant()).extension.ssh.host_key_checking is True
    config = load(variant(**{"x-kdeploy": {"ssh": {"host_key_checking": False}}}))
    assert config.extension.ssh.host_key_checking is False
    assert config.to_dict()["x-kdeploy"]["ssh"] == {"host_key_checking": False}


@pytest.mark.parametrize(("ssh", "message"), [
    ({"host_key_checking": "no"}, "x-kdeploy/ssh/host_key_checking: should be a boolean"),
    ({"host_key_checking": None}, "x-kdeploy/ssh/host_key_checking: should be a boolean"),
    ({"strict": True}, "x-kdeploy/ssh: unknown key: strict"),
    ("off", "x-kdeploy/ssh: should be a hash"),
])
def test_the_host_key_switch_is_checked_naming_the_key(load, ssh, message):
    with pytest.raises(ConfigError) as error:
        load(variant(**{"x-kdeploy": {"ssh": ssh}}))
    assert error.value.message.endswith(f"deploy.yml: {message}")
