"""The inventory's accessories per destination: Kamal's names, the option's, the label."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy import ansible_yaml
from kdeploy.config import Config, load_config
from kdeploy.host_contract.inventory import build_inventory, render_inventory

BASE: dict[str, Any] = {
    "service": "app", "image": "app",
    "servers": {"web": ["10.0.0.1"]},
    "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
    "accessories": {
        "db": {"image": "postgres:16", "host": "10.0.0.1", "port": 5432,
               "directories": ["data:/var/lib/postgresql/data"],
               "files": ["init.sql:/docker-entrypoint-initdb.d/init.sql"],
               "volumes": ["pgdata:/var/lib/postgresql", "/srv/backup:/backup"],
               "labels": {"tier": "data"}},
        "cache": {"image": "redis:7", "service": "redis", "host": "10.0.0.1"},
    },
}
# Each destination file moves nothing: both destinations put their accessories on one host.
DESTINATIONS = ("staging", "production")


def load(tmp_path: Path, destination: str | None = None, *, option: bool | None = None) -> Config:
    config = dict(BASE)
    if option is not None:
        config["x-kdeploy"] = {"accessories": {"name_by_destination": option}}
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "deploy.yml").write_text(yaml.safe_dump(config))
    for name in DESTINATIONS:
        (directory / f"deploy.{name}.yml").write_text("env:\n  clear:\n    A: b\n")
    return load_config(directory / "deploy.yml", destination, version="v1", environ={})


def accessories(config: Config) -> dict[str, dict[str, Any]]:
    return build_inventory(config)["all_vars"]["kdeploy_accessories"]


@pytest.mark.parametrize("option", [None, False, True])
def test_without_a_destination_the_names_are_kamals(tmp_path: Path, option: bool | None) -> None:
    db = accessories(load(tmp_path, option=option))["db"]
    assert db["service_name"] == "app-db"
    assert db["labels"] == {"service": "app-db", "tier": "data", "kdeploy.destination": ""}
    assert db["env_file"] == ".kamal/apps/app/env/accessories/db.env"
    assert db["directories"][0]["path"] == "app-db/data"
    assert db["files"][0]["path"] == "app-db/docker-entrypoint-initdb.d/init.sql"
    assert db["volumes"] == ["pgdata:/var/lib/postgresql", "/srv/backup:/backup"]


@pytest.mark.parametrize("option", [None, False])
def test_without_the_option_a_destination_keeps_kamals_names(
        tmp_path: Path, option: bool | None) -> None:
    found = accessories(load(tmp_path, "staging", option=option))
    db, cache = found["db"], found["cache"]
    assert (db["service_name"], cache["service_name"]) == ("app-db", "redis")
    assert db["labels"] == {"service": "app-db", "tier": "data", "kdeploy.destination": "staging"}
    assert cache["labels"] == {"service": "redis", "kdeploy.destination": "staging"}
    # Kamal's env file lives under the app directory, which already names the destination.
    assert db["env_file"] == ".kamal/apps/app-staging/env/accessories/db.env"
    assert db["directories"][0]["path"] == "app-db/data"
    assert db["volumes"] == ["pgdata:/var/lib/postgresql", "/srv/backup:/backup"]


def test_with_the_option_each_destination_has_its_own_names(tmp_path: Path) -> None:
    names = {}
    for destination in DESTINATIONS:
        found = accessories(load(tmp_path, destination, option=True))
        db, cache = found["db"], found["cache"]
        names[destination] = db
        assert db["service_name"] == f"app-db-{destination}"
        assert cache["service_name"] == f"redis-{destination}"
        assert db["labels"] == {"service": f"app-db-{destination}", "tier": "data",
                                "kdeploy.destination": destination}
        assert db["env_file"] == f".kamal/apps/app-{destination}/env/accessories/db.env"
        assert db["directories"][0] == {"path": f"app-db-{destination}/data",
                                        "mount": "/var/lib/postgresql/data", "mode": None,
                                        "owner": None}
        assert db["files"][0]["path"] == (f"app-db-{destination}"
                                          "/docker-entrypoint-initdb.d/init.sql")
        assert db["volumes"] == [f"pgdata-{destination}:/var/lib/postgresql",
                                 "/srv/backup:/backup"]
    staging, production = names["staging"], names["production"]
    for key in ("service_name", "env_file", "directories", "files"):
        assert staging[key] != production[key], key


def test_the_rendered_inventory_carries_the_names_and_the_label(tmp_path: Path) -> None:
    rendered = ansible_yaml.load(render_inventory(load(tmp_path, "staging", option=True)))
    db = rendered["all"]["vars"]["kdeploy_accessories"]["db"]
    assert db["service_name"] == "app-db-staging"
    assert db["labels"]["kdeploy.destination"] == "staging"
    # The group keeps the accessory's name: playbooks address `accessory_db` whatever the option.
    assert list(rendered["all"]["children"]["accessory_db"]["hosts"]) == ["10.0.0.1"]


def test_the_config_cannot_hide_the_destination_label(tmp_path: Path) -> None:
    config = load(tmp_path, "staging")
    db = next(a for a in config.accessories if a.name == "db")
    labelled = dataclasses.replace(db, labels={**db.labels, "kdeploy.destination": "x"})
    config = dataclasses.replace(config, accessories=(labelled,))
    assert accessories(config)["db"]["labels"]["kdeploy.destination"] == "staging"
