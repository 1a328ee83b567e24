"""`kdeploy config`: resolved config as YAML, the filtered selection as JSON, one-line errors."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from json_events import valid_events

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


def selection(result) -> dict:
    """The fields of the one `config` event the command printed, without its envelope."""
    (event,) = valid_events(result.stdout)
    assert event["type"] == "config"
    return {key: value for key, value in event.items()
            if key not in ("schema_version", "type", "time", "seq")}


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch):
    monkeypatch.chdir(FIXTURES)


@pytest.mark.parametrize("as_json", [("--output", "json"), ("--json",), ("--output=json",)])
def test_json_founding_case_filtered_by_role(as_json):
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "-r", "web_new",
                 *as_json)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert selection(result) == {
        "roles": ["web_new"],
        "hosts": ["10.0.0.2"],
        "primary_host": "10.0.0.2",
        "version": "abc",
        "repository": "localhost:5000/app",
        "absolute_image": "localhost:5000/app:abc",
        "service_with_version": "app-abc",
        "role_hosts": {"web_new": ["10.0.0.2"]},
        "accessory_hosts": {},
        "checks": "passed",
        "exit_code": 0,
    }


def test_json_unfiltered_lists_accessory_hosts():
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "--output", "json")
    data = selection(result)
    assert data["roles"] == ["web", "web_new"]
    assert data["role_hosts"] == {"web": ["10.0.0.1"], "web_new": ["10.0.0.2"]}
    assert data["accessory_hosts"] == {"db": ["10.0.0.1"]}


def test_json_orders_roles_and_hosts_as_kamal_config_does():
    # Declared workers, web, api: Kamal sorts role names, and its hosts follow them, then the
    # accessories' hosts (tests/peer compares this with the real `kamal config`).
    data = selection(run("config", "-P", "-c", "deploy_with_unsorted_roles.yml", "--json"))
    assert data["roles"] == ["api", "web", "workers"]
    assert data["hosts"] == ["10.0.4.4", "10.0.4.1", "10.0.4.2", "10.0.4.3", "10.0.4.5"]
    assert list(data["role_hosts"]) == ["api", "web", "workers"]
    assert data["primary_host"] == "10.0.4.1"
    filtered = selection(run("config", "-P", "-c", "deploy_with_unsorted_roles.yml", "--json",
                             "-r", "workers,web"))
    assert filtered["roles"] == ["web", "workers"]
    assert filtered["hosts"] == ["10.0.4.1", "10.0.4.2", "10.0.4.3"]


@pytest.mark.parametrize(("args", "key", "expected"), [
    (("-h", "10.0.0.1"), "hosts", ["10.0.0.1"]),
    (("-p",), "hosts", ["10.0.0.1"]),
    (("--version", "v9"), "absolute_image", "localhost:5000/app:v9"),
])
def test_json_options(args, key, expected):
    result = run("config", "-P", "-c", "deploy_founding_case_web_new.yml", "--json", *args)
    assert selection(result)[key] == expected


def test_json_with_destination():
    result = run("config", "-P", "-c", "deploy_with_destinations.yml", "-d", "staging", "--json")
    assert selection(result)["role_hosts"]["web"] == ["10.0.30.11", "10.0.30.12"]


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
    result = run("config", "-P", *args)
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert "Traceback" not in result.output
    for as_json in (("--output", "json"), ("--json",)):
        as_event = run("config", "-P", *args, *as_json)
        assert as_event.exit_code == 2
        (event,) = valid_events(as_event.stdout)
        kind = "usage" if "No --" in message else "config"  # a filter matching nothing
        assert (event["type"], event["kind"], event["exit_code"]) == ("error", kind, 2)
        assert event["message"] == message.removeprefix("ERROR: ")
        assert as_event.stderr.strip() == message


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


@pytest.mark.parametrize("args", [
    ("config", "--bogus", "--output", "json"),
    ("config", "--output=json", "--version"),
    ("nosuch", "--output", "json"),
    ("--output", "json", "config"),
])
def test_usage_errors_under_json_are_one_error_event(args):
    result = run(*args)
    assert result.exit_code == 2
    (event,) = valid_events(result.stdout)
    assert (event["type"], event["kind"], event["exit_code"]) == ("error", "usage", 2)
    assert event["message"] in result.stderr  # click's usage text stays on stderr


def test_a_usage_error_without_json_is_clicks_text_only():
    result = run("config", "--output", "yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--output'" in result.stderr


def test_an_error_without_json_writes_nothing_on_stdout():
    result = run("config", "-c", "missing.yml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "ERROR: Configuration file not found in missing.yml"
