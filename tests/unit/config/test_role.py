"""Role: names, labels, env merge per host, logging merge, proxy rule."""

from __future__ import annotations

import pytest
from config_helpers import variant

ROLES = {
    "web": [{"10.0.0.1": "a"}, {"10.0.0.2": ["a", "b"]}],
    "workers": {"hosts": ["10.0.0.3"], "cmd": "bin/jobs", "options": {"memory": "2g"},
                "labels": {"my-label": "workers"}, "env": {"clear": {"QUEUE": "q"}},
                "logging": {"options": {"max-file": 3}}, "asset_path": "/public:ro"},
}


@pytest.fixture
def config(load):
    return load(variant(
        servers=ROLES, labels={"team": "x"},
        env={"clear": {"A": "root", "QUEUE": "root"}, "secret": ["S1"],
             "tags": {"a": {"A": "tag-a"}, "b": {"clear": {"A": "tag-b"}, "secret": ["S2:ALIAS"]}}},
    ))


def test_container_names(load, write_config, config):
    write_config({}, "deploy.staging.yml")
    staged = load(variant(servers=ROLES), "staging")
    assert config.role("web").container_prefix == "app-web"
    assert config.role("web").container_name("abc") == "app-web-abc"
    assert staged.role("workers").container_name("abc") == "app-workers-staging-abc"


def test_container_labels(config):
    assert config.role("workers").container_labels == {
        "service": "app", "role": "workers", "destination": "", "team": "x",
        "my-label": "workers"}


def test_role_settings(config):
    workers = config.role("workers")
    assert workers.cmd == "bin/jobs"
    assert dict(workers.options) == {"memory": "2g"}
    assert (workers.asset_path, workers.asset_path_options) == ("/public", "ro")
    assert workers.primary is False and config.role("web").primary is True


@pytest.mark.parametrize(("host", "clear", "secret"), [
    ("10.0.0.1", {"A": "tag-a", "QUEUE": "root"}, {"S1": "S1"}),
    ("10.0.0.2", {"A": "tag-b", "QUEUE": "root"}, {"S1": "S1", "S2": "ALIAS"}),
])
def test_env_for_host_merges_root_role_and_tags(config, host, clear, secret):
    env = config.role("web").env_for_host(host)
    assert (dict(env.clear), dict(env.secret)) == (clear, secret)


def test_role_env_over_root_env(config):
    env = config.role("workers").env_for_host("10.0.0.3")
    assert dict(env.clear) == {"A": "root", "QUEUE": "q"}


@pytest.mark.parametrize(("root", "role", "expected_driver", "expected_options"), [
    (None, None, None, {"max-size": "10m"}),
    ({"driver": "json-file"}, None, "json-file", {}),
    ({"options": {"tag": "x"}}, {"options": {"max-file": 3}}, None, {"tag": "x", "max-file": "3"}),
    (None, {"driver": "syslog"}, "syslog", {}),
])
def test_logging_merge_and_default(load, root, role, expected_driver, expected_options):
    web = {"hosts": ["10.0.0.1"], **({"logging": role} if role else {})}
    config = load(variant(servers={"web": web}, logging=root))
    logging = config.role("web").logging
    assert (logging.driver, dict(logging.options)) == (expected_driver, expected_options)


@pytest.mark.parametrize(("name", "proxy", "running"), [
    ("web", None, True),
    ("web", False, False),
    ("web", {"app_port": 3000}, True),
    ("jobs", None, False),
    ("jobs", True, True),
    ("jobs", {"app_port": 3000}, True),
    ("jobs", False, False),
    ("jobs", {}, True),
])
def test_running_proxy(load, name, proxy, running):
    role = {"hosts": ["10.0.0.2"], **({} if proxy is None else {"proxy": proxy})}
    config = load(variant(servers={"web": ["10.0.0.1"], **{name: role}}))
    assert config.role(name).running_proxy is running


def test_role_proxy_merges_over_root(load):
    config = load(variant(proxy={"host": "a.example.com", "app_port": 3000},
                          servers={"web": ["10.0.0.1"],
                                   "api": {"hosts": ["10.0.0.2"], "proxy": {"app_port": 4000}}}))
    assert config.role("api").proxy.app_port == 4000
    assert config.role("api").proxy.hosts == ("a.example.com",)
    assert config.role("web").proxy.app_port == 3000
