"""Kamal's cross-section rules: aliases, minimum version, proxy runs."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.config.checks import validate_alias
from kdeploy.errors import ConfigError


@pytest.mark.parametrize("name", ["console", "my-alias", "a_1"])
def test_valid_alias_names(name):
    validate_alias(name, "app exec -i bash")


@pytest.mark.parametrize(("name", "message"), [
    ("setup", "aliases/setup: Alias 'setup' conflicts with a built-in command."),
    ("my alias", "aliases/my alias: Invalid alias name: 'my alias'."),
])
def test_invalid_alias_names(name, message):
    with pytest.raises(ConfigError) as error:
        validate_alias(name, "app details")
    assert error.value.message.startswith(message)


@pytest.mark.parametrize(("minimum", "ok"), [
    ("2.11.0", True), ("2.10.9", True), ("1.9", True), ("2.11.1", False), ("3", False),
])
def test_minimum_version(load, minimum, ok):
    config = variant(minimum_version=minimum)
    if ok:
        load(config)
    else:
        with pytest.raises(ConfigError, match=f"minimum required is {minimum}"):
            load(config)


def test_conflicting_proxy_runs_on_one_host(load):
    config = variant(
        servers={"web": ["10.0.0.1"], "api": {"hosts": ["10.0.0.1"], "proxy": {
            "run": {"http_port": 8080}}}},
        proxy={"run": {"http_port": 80}},
    )
    with pytest.raises(ConfigError) as error:
        load(config)
    assert error.value.message.endswith("Conflicting proxy run configurations for host 10.0.0.1")
