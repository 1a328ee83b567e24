"""`kdeploy proxy …` with a stubbed runner: what runs, what prints, confirmations, exit codes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from json_events import report_event
from stub_runner import StubRunner

import kdeploy.cli as cli_package
import kdeploy.cli.proxy as proxy_module
import kdeploy.run.execute as execute_module
from kdeploy.run.result import HostFailure

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ROLES = ("-c", "deploy_with_roles.yml")  # web: 10.0.3.1-2 (behind the proxy), workers: .3-.4
PS = "CONTAINER ID   IMAGE   NAMES\r\nabc123   basecamp/kamal-proxy:v0.9.2   kamal-proxy\r\n"


def kdeploy_cli():  # type: ignore[no-untyped-def]
    importlib.import_module("kdeploy.cli.proxy")
    return cli_package.cli


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return CliRunner().invoke(kdeploy_cli(), [*args, *ROLES], env={"VERSION": "v1"})


def test_details_prints_the_proxy_under_each_host(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.2": {"stdout": PS}, "10.0.3.1": {"stdout": PS}})
    result = run(monkeypatch, stub, "proxy", "details")
    assert result.exit_code == 0, result.output
    assert ("Proxy Host: 10.0.3.1\nCONTAINER ID   IMAGE   NAMES\n"
            "abc123   basecamp/kamal-proxy:v0.9.2   kamal-proxy\n\nProxy Host: 10.0.3.2\n"
            ) in result.output
    (plan,) = stub.plans
    assert plan.command == "proxy details" and plan.lock_host is None


def test_details_json_lists_each_host(monkeypatch: pytest.MonkeyPatch) -> None:
    line = ('{"CreatedAt":"2026-12-06 08:30:00 +0000 UTC","ID":"abc123",'
            '"Image":"basecamp/kamal-proxy:v0.9.2","Names":"kamal-proxy","Ports":"80/tcp",'
            '"State":"running","Status":"Up 2 minutes"}\r\n')
    stub = StubRunner({"10.0.3.1": {"stdout": line}})
    result = run(monkeypatch, stub, "proxy", "details", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert (report["report"], report["items"]) == ("proxy details", [
        {"host": "10.0.3.1", "proxy": True, "containers": [
            {"id": "abc123", "name": "kamal-proxy", "image": "basecamp/kamal-proxy:v0.9.2",
             "state": "running", "status": "Up 2 minutes", "ports": "80/tcp",
             "created": "2026-12-06 08:30:00 +0000 UTC"}]}])
    assert stub.plans[0].extravars["kdeploy_report_format"] == "json"


def test_reboot_needs_y_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "proxy", "reboot", "--rolling")
    assert result.exit_code == 2
    assert "kdeploy proxy reboot needs -y" in result.output
    assert stub.plans == []


def test_rolling_reboot_runs_one_host_at_a_time_under_the_lock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "proxy", "reboot", "--rolling", "-y")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert [(entry.playbook, entry.vars.get("proxy_hosts")) for entry in plan.imports] == [
        ("lock_acquire.yml", None), ("proxy_reboot.yml", "10.0.3.1"),
        ("proxy_reboot.yml", "10.0.3.2"), ("lock_release.yml", None)]


def test_remove_passes_force(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    assert run(monkeypatch, stub, "proxy", "remove", "--force").exit_code == 0
    assert stub.plans[0].extravars["proxy_force"] is True


def test_a_role_filter_without_proxy_roles_is_a_usage_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "proxy", "boot", "-r", "workers")
    assert result.exit_code == 2
    assert "No proxy hosts inside the filters" in result.output
    assert "Traceback" not in result.output and stub.plans == []


def test_a_failing_host_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner(failures=[HostFailure(host="10.0.3.2", task="Boot the proxy.",
                                            message="port 80 is already allocated")])
    result = run(monkeypatch, stub, "proxy", "boot")
    assert result.exit_code == 1
    assert "port 80 is already allocated" in result.output


def test_follow_runs_docker_logs_over_ssh_on_the_first_proxy_host(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(proxy_module, "run_ssh", lambda argv: calls.append(argv) or 0)
    result = run(monkeypatch, StubRunner(), "proxy", "logs", "-f", "-g", "GET /up")
    assert result.exit_code == 0, result.output
    (argv,) = calls
    assert argv[-1] == ("docker logs kamal-proxy --timestamps --tail 10 --follow 2>&1 "
                        "| grep 'GET /up'")
    assert "10.0.3.1" in " ".join(argv)


def test_logs_prints_each_host_block(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": {"stdout": "line one\r\nline two\r\n"}})
    result = run(monkeypatch, stub, "proxy", "logs", "-n", "5")
    assert result.exit_code == 0, result.output
    assert "Proxy Host: 10.0.3.1\nline one\nline two" in result.output
    assert stub.plans[0].extravars["proxy_logs_lines"] == 5
