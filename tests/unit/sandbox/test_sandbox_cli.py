"""`kdeploy sandbox`: unusable machine → one line and exit 2; status without a sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kdeploy.cli import _register_commands, cli
from kdeploy.sandbox import preflight
from kdeploy.sandbox.preflight import Findings


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    _register_commands()
    monkeypatch.setenv("KDEPLOY_SANDBOX_DIR", str(tmp_path / "sandbox"))
    return CliRunner()


@pytest.mark.parametrize("command", [["up"], ["up", "--hosts", "10"], ["down"]])
def test_missing_packages_exit_2_with_one_message(runner: CliRunner, command: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "inspect_machine",
                        lambda: Findings(problems=[], packages=["docker-registry", "docker.io"]))
    result = runner.invoke(cli, ["sandbox", *command])
    assert result.exit_code == 2
    assert "apt-get install docker-registry docker.io" in result.output
    assert "Traceback" not in result.output


def test_not_root_exit_2(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "inspect_machine",
                        lambda: Findings(problems=["the sandbox needs root"], packages=[]))
    result = runner.invoke(cli, ["sandbox", "up"])
    assert result.exit_code == 2
    assert "ERROR: kdeploy sandbox cannot run on this machine: the sandbox needs root" in \
        result.output


def test_status_without_sandbox(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["sandbox", "status"]).output.startswith("No sandbox")
    assert '"running": false' in runner.invoke(cli, ["sandbox", "status", "--json"]).output


def test_hosts_must_be_positive(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["sandbox", "up", "--hosts", "0"]).exit_code == 2
