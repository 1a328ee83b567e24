"""`kdeploy config`: resolved config as YAML, the filtered selection as JSON, one-line errors."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import kdeploy.cli as cli_package

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


def kdeploy_cli():
    # Make sure the top-level commands are registered, without shadowing the `main` entry point.
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.main")
    cli_package.main = entry
    return cli_package.cli


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(kdeploy_cli(), list(args), env={"VERSION": "abc", **(env or {})})


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch):
    monkeypatch.chdir(FIXTURES)


def test_json_founding_case_filtered_by_role():
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "-r", "web_new",
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "roles": ["web_new"],
        "hosts": ["10.0.0.2"],
        "primary_host": "10.0.0.2",
        "version": "abc",
        "repository": "localhost:5000/app",
        "absolute_image": "localhost:5000/app:abc",
        "service_with_version": "app-abc",
        "role_hosts": {"web_new": ["10.0.0.2"]},
        "accessory_hosts": {},
    }


def test_json_unfiltered_lists_accessory_hosts():
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "--json")
    data = json.loads(result.output)
    assert data["roles"] == ["web", "web_new"]
    assert data["role_hosts"] == {"web": ["10.0.0.1"], "web_new": ["10.0.0.2"]}
    assert data["accessory_hosts"] == {"db": ["10.0.0.1"]}


def test_json_orders_roles_and_hosts_as_kamal_config_does():
    # Declared workers, web, api: Kamal sorts role names, and its hosts follow them, then the
    # accessories' hosts (tests/peer compares this with the real `kamal config`).
    result = run("config", "-P", "-c", "deploy_with_unsorted_roles.yml", "--json")
    data = json.loads(result.output)
    assert data["roles"] == ["api", "web", "workers"]
    assert data["hosts"] == ["10.0.4.4", "10.0.4.1", "10.0.4.2", "10.0.4.3", "10.0.4.5"]
    assert list(data["role_hosts"]) == ["api", "web", "workers"]
    assert data["primary_host"] == "10.0.4.1"
    filtered = json.loads(run("config", "-P", "-c", "deploy_with_unsorted_roles.yml", "--json",
                              "-r", "workers,web").output)
    assert filtered["roles"] == ["web", "workers"]
    assert filtered["hosts"] == ["10.0.4.1", "10.0.4.2", "10.0.4.3"]


@pytest.mark.parametrize(("args", "key", "expected"), [
    (("-h", "10.0.0.1"), "hosts", ["10.0.0.1"]),
    (("-p",), "hosts", ["10.0.0.1"]),
    (("--version", "v9"), "absolute_image", "localhost:5000/app:v9"),
])
def test_json_options(args, key, expected):
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "--json", *args)
    assert json.loads(result.output)[key] == expected


def test_json_with_destination():
    result = run("config", "-P", "-c", "deploy_with_destinations.yml", "-d", "staging", "--json")
    assert json.loads(result.output)["role_hosts"]["web"] == ["10.0.30.11", "10.0.30.12"]


def test_yaml_shows_secret_names_not_values():
    result = run("config", "-P", "-c", "deploy_founding_case.yml")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert data["accessories"][0]["env"]["secret"] == ["MYSQL_ROOT_PASSWORD"]
    assert "fake-mysql" not in result.output


def test_yaml_redacts_a_clear_registry_password(tmp_path):
    config = (FIXTURES / "deploy_with_list_servers.yml").read_text().replace(
        "password:\n    - KAMAL_REGISTRY_PASSWORD", "password: hunter2")
    (tmp_path / "deploy.yml").write_text(config)
    result = run("config", "-P", "-c", str(tmp_path / "deploy.yml"))
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("-c", "invalid/deploy_with_role_env_not_hash.yml"),
     "ERROR: invalid/deploy_with_role_env_not_hash.yml: servers/web/env: should be a hash"),
    (("-c", "deploy_founding_case.yml", "-r", "nope"), "ERROR: No --roles match for nope"),
    (("-c", "deploy_founding_case.yml", "-h", "9.9.9.9"), "ERROR: No --hosts match for 9.9.9.9"),
    (("-c", "missing.yml"), "ERROR: Configuration file not found in missing.yml"),
    (("-c", "deploy_with_require_destination.yml"),
     "ERROR: deploy_with_require_destination.yml: You must specify a destination"),
    (("-c", "deploy_founding_case.yml", "-d", "nowhere"),
     "ERROR: Configuration file not found in deploy_founding_case.nowhere.yml"),
])
def test_errors_are_one_line_and_exit_2(args, message):
    result = run("config", "-P", *args, "--json")
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert "Traceback" not in result.output


def test_yaml_syntax_error_is_one_line(tmp_path):
    (tmp_path / "deploy.yml").write_text("service: [app\n")
    result = run("config", "-P", "-c", str(tmp_path / "deploy.yml"))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "invalid YAML" in result.output


def test_config_does_not_import_ansible(tmp_path):
    # Through the real entry point: every command module is imported there.
    shutil.copy(FIXTURES / "deploy_founding_case.yml", tmp_path / "deploy.yml")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kdeploy", "config", "-P", "--json", "-c",
         str(tmp_path / "deploy.yml")],
        capture_output=True, text=True, env={"VERSION": "abc"}, check=True)
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert not [m for m in imported if m.split(".")[0] in ("ansible", "ansible_runner")]
    assert "kdeploy.config" in imported
