"""Loading: files, ERB, YAML, destinations, version, and errors that are never tracebacks."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from config_helpers import BASE, variant

from kdeploy.config import load_config
from kdeploy.errors import ConfigError


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "config" / "deploy.yml"
    with pytest.raises(ConfigError, match=f"Configuration file not found in {missing}"):
        load_config(missing, environ={})


def test_missing_destination_file(load, tmp_path):
    with pytest.raises(ConfigError) as error:
        load(BASE, "staging")
    assert error.value.message == (
        f"Configuration file not found in {tmp_path / 'config' / 'deploy.staging.yml'}"
    )


@pytest.mark.parametrize(("text", "message"), [
    ("service: [app\n", "invalid YAML"),
    ("- a\n- b\n", "the top level should be a hash"),
    ("", "the top level should be a hash"),
    ("just text\n", "the top level should be a hash"),
    ("service: !ruby/object:Foo {}\n", "invalid YAML"),
    ("a: *missing\n", "invalid YAML"),
])
def test_unparsable_files_are_config_errors(load, text, message):
    with pytest.raises(ConfigError) as error:
        load(text)
    assert error.value.message.startswith(str(error.value.message.split(":")[0]))
    assert "deploy.yml: " in error.value.message
    assert message in error.value.message


def test_destination_deep_merges_hashes_and_replaces_lists(load, write_config):
    write_config({"servers": {"web": ["10.0.0.9"]}, "env": {"clear": {"B": "2"}}},
                 "deploy.staging.yml")
    config = load(variant(servers={"web": ["10.0.0.1"], "jobs": ["10.0.0.2"]},
                          env={"clear": {"A": "1"}}), "staging")
    assert config.role("web").hosts == ("10.0.0.9",)
    assert config.role("jobs").hosts == ("10.0.0.2",)
    assert dict(config.env.clear) == {"A": "1", "B": "2"}
    assert config.destination == "staging"


def test_kamal_destination_is_visible_to_erb(load, write_config):
    write_config("env:\n  clear:\n    STAGE: <%= ENV['KAMAL_DESTINATION'] %>\n",
                 "deploy.beta.yml")
    config = load(BASE, "beta")
    assert config.env.clear["STAGE"] == "beta"


def test_erb_reads_the_given_environment(load):
    text = yaml.safe_dump(BASE) + "env:\n  clear:\n    X: <%= ENV['FROM_ENV'] %>\n"
    assert load(text, environ={"FROM_ENV": "hello"}).env.clear["X"] == "hello"


def test_require_destination(load):
    with pytest.raises(ConfigError, match=r"deploy\.yml: You must specify a destination"):
        load(variant(require_destination=True))


def test_anchors_and_root_extensions(load):
    text = (
        "x-hosts: &hosts\n  - 10.0.0.1\n  - 10.0.0.2\n"
        "service: app\nimage: app\nservers:\n  web: *hosts\n"
        "registry:\n  server: localhost:5000\nbuilder:\n  arch: amd64\n"
    )
    assert load(text).role("web").hosts == ("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize(("argument", "environ", "expected"), [
    ("v1", {"VERSION": "v2"}, "v1"),
    (None, {"VERSION": "v2"}, "v2"),
])
def test_version_argument_then_environment(load, argument, environ, expected):
    assert load(BASE, version=argument, environ=environ).version == expected


def test_version_from_git_in_the_project_dir(load, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert load(BASE, version=None).version == head


def test_no_version_outside_git(load):
    config = load(BASE, version=None)
    assert config.version is None
    with pytest.raises(ConfigError, match="no version"):
        _ = config.absolute_image


def test_secrets_are_lazy(load, tmp_path):
    config = load(variant(env={"secret": ["NOT_THERE"]}))
    assert config.secrets is not None
    assert not (tmp_path / ".kamal").exists()


def test_kamal_destination_is_cleared_without_destination(load):
    text = yaml.safe_dump(BASE) + "env:\n  clear:\n    D: <%= ENV['KAMAL_DESTINATION'] %>x\n"
    assert load(text, environ={"KAMAL_DESTINATION": "stale"}).env.clear["D"] == "x"


def test_hooks_output_levels_without_colons(load):
    assert load(variant(hooks_output=":quiet")).hooks_output == "quiet"
    assert dict(load(variant(hooks_output={"pre-deploy": ":verbose"})).hooks_output) == {
        "pre-deploy": "verbose"}
