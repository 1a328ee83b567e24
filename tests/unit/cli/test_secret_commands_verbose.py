"""`-v` names each command `.kamal/secrets` runs, on stderr, and never what it printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.run.result import RunResult

CONFIG = {
    "service": "app", "image": "app", "builder": {"arch": "amd64"},
    "registry": {"server": "registry.example.com", "username": "u",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "servers": {"web": ["10.0.0.1"]},
}
# The command prints the password; `$SUFFIX` comes from an earlier line and is a secret too.
SECRETS = "SUFFIX=tail-value-99\nKAMAL_REGISTRY_PASSWORD=$(printf 'pw-%s-%s' from-cmd $SUFFIX)\n"
LINE = ("--> Running `printf 'pw-%s-%s' from-cmd $SUFFIX` for .kamal/secrets:2 "
        "(KAMAL_REGISTRY_PASSWORD)")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """A project whose registry password comes from a command; returns the secrets run_plan got."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(SECRETS)
    monkeypatch.chdir(tmp_path)
    received: list[dict[str, str]] = []

    def run_plan(config, plan, secrets, on_event):  # type: ignore[no-untyped-def]
        received.append(dict(secrets))
        return RunResult(status="successful")

    monkeypatch.setattr(execute_module, "run_plan", run_plan)
    return received


def setup(*args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, ["setup", "-P", "--version", "v1", *args])


def test_verbose_names_the_command_on_stderr_never_its_output(
        project: list[dict[str, str]]) -> None:
    result = setup("-v")
    assert result.exit_code == 0, result.output
    # The secret really came from the command, and reached the run.
    assert list(project[0].values()) == ["pw-from-cmd-tail-value-99"]
    assert result.stderr.splitlines().count(LINE) == 1
    assert LINE not in result.stdout
    for shown in (result.stdout, result.stderr):
        assert "pw-from-cmd" not in shown and "tail-value-99" not in shown


def test_without_verbose_nothing_is_named(project: list[dict[str, str]]) -> None:
    result = setup()
    assert result.exit_code == 0, result.output
    assert "Running `" not in result.output
    assert project  # the command ran all the same


def test_json_output_stays_json_with_verbose(project: list[dict[str, str]]) -> None:
    result = setup("-v", "--output", "json")
    assert result.exit_code == 0, result.output
    assert all(json.loads(line) for line in result.stdout.splitlines())
    assert LINE in result.stderr.splitlines()
