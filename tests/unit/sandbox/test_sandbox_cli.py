"""`kdeploy sandbox`: unusable machine → one line and exit 2; status without a sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdeploy import sandbox as api
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


def test_status_shows_what_drops_the_bridge_traffic(runner: CliRunner, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    warning = "iptables-nft: the FORWARD policy DROP drops the traffic between sandbox hosts"
    info = api.SandboxInfo(root=tmp_path, hosts=(), registry="10.213.7.1:5000",
                           key_path=tmp_path / "key", example_dir=tmp_path / "example",
                           subnet="10.213.7.0/24", phase="ready", warnings=(warning,))
    monkeypatch.setattr(api, "status", lambda: info)
    result = runner.invoke(cli, ["sandbox", "status"])
    assert result.exit_code == 0
    assert f"WARNING: {warning}" in result.output
    as_json = runner.invoke(cli, ["sandbox", "status", "--json"])
    assert json.loads(as_json.output)["warnings"] == [warning]
