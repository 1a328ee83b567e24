"""Config's derived values (Kamal's names)."""

from __future__ import annotations

import dataclasses

import pytest
from config_helpers import variant

from kdeploy.errors import UsageError


@pytest.mark.parametrize(("config", "destination", "expected"), [
    (variant(), None, {
        "repository": "localhost:5000/app", "absolute_image": "localhost:5000/app:abc",
        "latest_tag": "latest", "service_with_version": "app-abc",
        "service_with_destination": "app"}),
    (variant(registry={"username": "u", "password": ["P"]}, image="dhh/app"), None, {
        "repository": "dhh/app", "absolute_image": "dhh/app:abc", "latest_tag": "latest"}),
    (variant(image=None, registry={"server": "localhost:5555"}), None, {
        "repository": "localhost:5555/app"}),
])
def test_image_names(load, config, destination, expected):
    loaded = load(config, destination)
    assert {key: getattr(loaded, key) for key in expected} == expected


def test_destination_names(load, write_config):
    write_config({}, "deploy.staging.yml")
    config = load(variant(), "staging")
    assert config.latest_tag == "latest-staging"
    assert config.service_with_destination == "app-staging"


def test_defaults(load):
    config = load(variant())
    assert (config.readiness_delay, config.deploy_timeout, config.drain_timeout) == (7, 30, 30)
    assert config.retain_containers == 5
    assert config.hooks_path == ".kamal/hooks"
    assert config.secrets_path == ".kamal/secrets"
    assert config.ssh.user == "root" and config.ssh.port == 22
    assert config.builder.driver == "docker-container"
    assert config.extension.python_interpreter is None
    assert config.registry.local


def test_roles_primary_first_then_alphabetical(load):
    config = load(variant(primary_role="web", servers={
        "zeta": ["10.0.0.3"], "alpha": ["10.0.0.2"], "web": ["10.0.0.1"]}))
    assert [role.name for role in config.roles] == ["web", "alpha", "zeta"]
    assert config.primary_role.name == "web"
    assert config.primary_host == "10.0.0.1"


def test_all_hosts_roles_then_accessories_deduplicated(load):
    config = load(variant(
        servers={"web": ["10.0.0.1", "10.0.0.2"], "jobs": ["10.0.0.2", "10.0.0.3"]},
        accessories={"db": {"image": "x", "hosts": ["10.0.0.4", "10.0.0.1"]}}))
    # Kamal's order: roles alphabetically (jobs before web), then accessories.
    assert config.all_hosts == ("10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.4")


def test_host_tags_across_roles(load):
    config = load(variant(servers={
        "web": [{"10.0.0.1": ["a", "b"]}], "jobs": {"hosts": [{"10.0.0.1": "c"}, "10.0.0.2"]}}))
    assert dict(config.host_tags) == {"10.0.0.1": ("a", "b", "c"), "10.0.0.2": ()}


def test_lookups(load):
    config = load(variant(accessories={"db": {"image": "x", "host": "h"}}))
    assert config.accessory("db").name == "db"
    with pytest.raises(UsageError):
        config.role("nope")
    with pytest.raises(UsageError, match="No accessory by the name of 'nope'"):
        config.accessory("nope")


def test_config_is_immutable(load):
    config = load(variant())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.service = "other"
    with pytest.raises(TypeError):
        config.labels["x"] = "y"


def test_to_dict_names_secrets_never_values(load):
    config = load(variant(registry={"username": "u", "password": "clear-pass"},
                          image="dhh/app", env={"secret": ["DB_PASSWORD:MAIN"]}))
    data = config.to_dict()
    assert data["registry"]["password"] == "[REDACTED]"
    assert data["env"]["secret"] == ["DB_PASSWORD:MAIN"]
    assert "clear-pass" not in repr(data)
