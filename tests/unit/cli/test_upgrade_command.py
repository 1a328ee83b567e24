"""`kdeploy upgrade` with a stubbed runner: the question, -y, --rolling, --version, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from stub_runner import StubRunner

import kdeploy.cli as cli_package
import kdeploy.cli.upgrade as upgrade_module
import kdeploy.run.execute as execute_module

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ACCESSORIES = ("-c", str(FIXTURES / "deploy_with_accessories.yml"))


def upgrade(monkeypatch: pytest.MonkeyPatch, *args: str, terminal: bool = False,
            answer: str = "") -> tuple[Result, StubRunner]:
    stub = StubRunner()
    monkeypatch.setattr(execute_module, "run_plan", stub)
    monkeypatch.setattr(upgrade_module, "can_ask", lambda: terminal)
    cli_package._register_commands()
    result = CliRunner().invoke(cli_package.cli, ["upgrade", *ACCESSORIES, *args], input=answer,
                                prog_name="kdeploy")
    return result, stub


def test_upgrade_runs_one_locked_plan_booting_the_latest_image(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result, stub = upgrade(monkeypatch, "-y")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert plan.command == "upgrade" and plan.lock_host == "10.0.10.1"
    assert plan.extravars["kdeploy_version"] == "latest"
    assert "Remove Traefik (Kamal 1's proxy)" in [getattr(unit, "name", "")
                                                   for unit in plan.imports]


def test_upgrade_boots_version_or_the_destinations_latest_as_kamal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result, stub = upgrade(monkeypatch, "-y", "--version", "v7")
    assert result.exit_code == 0, result.output
    assert stub.plans[0].extravars["kdeploy_version"] == "v7"


def test_upgrade_rolling_takes_one_host_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    result, stub = upgrade(monkeypatch, "-y", "--rolling")
    assert result.exit_code == 0, result.output
    hosts = [unit.hosts for unit in stub.plans[0].imports if hasattr(unit, "hosts")]
    assert hosts and all("," not in host for host in hosts)


def test_upgrade_asks_kamals_question_and_no_ends_it_untouched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result, stub = upgrade(monkeypatch, terminal=True, answer="n\n")
    assert result.exit_code == 0, result.output
    assert "This will replace Traefik with kamal-proxy and restart all accessories" in result.output
    assert "Aborted" in result.output
    assert stub.plans == []
    result, stub = upgrade(monkeypatch, terminal=True, answer="y\n")
    assert result.exit_code == 0, result.output
    assert len(stub.plans) == 1


def test_upgrade_without_a_terminal_needs_y(monkeypatch: pytest.MonkeyPatch) -> None:
    result, stub = upgrade(monkeypatch)
    assert result.exit_code == 2
    assert "kdeploy upgrade needs -y" in result.output
    assert stub.plans == []


def test_upgrade_json_ends_with_its_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = upgrade(monkeypatch, "-y", "--output", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert (summary["type"], summary["command"], summary["exit_code"]) == ("summary", "upgrade", 0)
