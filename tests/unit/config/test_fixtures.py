"""Every fixture under tests/fixtures/configs loads; invalid ones fail naming the file."""

from __future__ import annotations

import shutil

import pytest
import yaml
from config_helpers import FIXTURES

from kdeploy.config import load_config
from kdeploy.errors import ConfigError
from kdeploy.selection import select

VALID = sorted(p for p in FIXTURES.glob("deploy_*.yml") if p.name.count(".") == 1)
INVALID = sorted((FIXTURES / "invalid").glob("deploy_*.yml"))
# Kamal 2.12 keys: valid for kdeploy, rejected by Kamal 2.11 (tests/peer, docs/config.md).
KAMAL_2_12 = sorted((FIXTURES / "kamal_2_12").glob("deploy_*.yml"))


def destination_of(path):
    found = [p.name.split(".")[1] for p in FIXTURES.glob(f"{path.stem}.*.yml")]
    return found[0] if found else None


def test_enough_fixtures():
    assert len(VALID) >= 25


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_fixture_loads(path, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    config = load_config(path.name, destination_of(path), version="abc", environ={"HOME": "/h"})
    assert config.service == "app"
    assert yaml.safe_load(yaml.safe_dump(config.to_dict()))["service"] == "app"
    select(config)


@pytest.mark.parametrize("path", KAMAL_2_12, ids=[p.stem for p in KAMAL_2_12])
def test_kamal_2_12_fixture_loads(path, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    config = load_config(f"kamal_2_12/{path.name}", version="abc", environ={"HOME": "/h"})
    select(config)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_is_rejected(path, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ConfigError) as error:
        load_config(f"invalid/{path.name}", version="abc", environ={})
    assert error.value.message.startswith(f"invalid/{path.name}: ")


def load_fixture(name, **kwargs):
    return load_config(FIXTURES / name, version="abc", environ={}, **kwargs)


def test_founding_case():
    config = load_fixture("deploy_founding_case.yml")
    assert [role.name for role in config.roles] == ["web"]
    assert config.all_hosts == ("10.0.0.1",)
    assert config.accessory("db").hosts == ("10.0.0.1",)
    assert config.accessory("db").port == "3306:3306"
    assert config.accessory("db").directories[0].host_path == "app-db/data"


def test_founding_case_web_new():
    config = load_fixture("deploy_founding_case_web_new.yml")
    assert [role.name for role in config.roles] == ["web", "web_new"]
    assert not config.role("web_new").running_proxy
    selection = select(config, roles="web_new")
    assert selection.hosts == ("10.0.0.2",)
    assert dict(selection.accessory_hosts) == {}


def test_destination_fixture():
    config = load_fixture("deploy_with_destinations.yml", destination="staging")
    assert config.role("web").hosts == ("10.0.30.11", "10.0.30.12")
    assert config.role("workers").hosts == ("10.0.30.2",)
    assert config.env.clear["STAGE"] == "staging"


def test_erb_fixture():
    config = load_fixture("deploy_with_erb.yml")
    assert config.image == "dhh/app"
    assert config.all_hosts == ("10.0.31.1", "10.0.31.2", "10.0.31.3")


def test_require_destination_fixture():
    with pytest.raises(ConfigError, match="You must specify a destination"):
        load_fixture("deploy_with_require_destination.yml")
    config = load_fixture("deploy_with_require_destination.yml", destination="production")
    assert config.all_hosts == ("10.0.32.10",)


def test_traefik_hooks_are_refused(tmp_path):
    shutil.copy(FIXTURES / "deploy_founding_case.yml", tmp_path / "deploy.yml")
    hooks = tmp_path / ".kamal" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "pre-traefik-reboot").write_text("")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    shutil.move(tmp_path / "deploy.yml", config_dir / "deploy.yml")
    with pytest.raises(ConfigError, match=r"Found pre-traefik-reboot, these should be renamed "
                                          r"to \(pre\|post\)-proxy-reboot"):
        load_config(config_dir / "deploy.yml", version="abc", environ={})
