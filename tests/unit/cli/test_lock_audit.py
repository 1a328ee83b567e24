"""`kdeploy lock acquire|release|status` and `kdeploy audit` with a stubbed runner.

The runner stub replays the events a real run sends for the command's report task, so these
tests pin what the commands print (Kamal's messages), their JSON and their exit codes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from json_events import report_event

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.plan import Plan
from kdeploy.run.result import RunResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
CONFIG = ("-c", "deploy_founding_case_web_new.yml")
DETAILS = "Locked by: ops@example.com at 2026-11-26T10:00:00Z\nVersion: v1\nMessage: fixing db"


def kdeploy_cli():
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.lock")
    cli_package.main = entry
    return cli_package.cli


class StubRunner:
    """Stands in for `run_plan`: records the plan, replays report-task results per host."""

    def __init__(self, results: dict[str, dict[str, Any]] | None = None,
                 lock_held: str | None = None) -> None:
        self.results = results or {}
        self.lock_held = lock_held
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        on_event({"event": "playbook_on_play_start", "event_data": {"play": "Part"}})
        for host, res in self.results.items():
            for task in ("Validate the role's arguments.", plan.report_task):
                on_event({"event": "runner_on_ok",
                          "event_data": {"host": host, "task": task, "res": res}})
        on_event({"event": "playbook_on_stats", "event_data": {}})
        if self.lock_held:
            return RunResult(status="failed", rc=2, lock_held=self.lock_held)
        return RunResult(status="successful", stats={"ok": dict.fromkeys(self.results, 2)})


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return CliRunner().invoke(kdeploy_cli(), [*args, *CONFIG], env={"VERSION": "v1"})


def test_acquire_takes_the_lock_with_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.0.2": {"rc": 0, "stdout": ""}})
    result = run(monkeypatch, stub, "lock", "acquire", "-m", "fixing db", "-r", "web_new")
    assert result.exit_code == 0, result.output
    assert "Acquired the deploy lock" in result.output.splitlines()
    (plan,) = stub.plans
    assert plan.command == "lock acquire"
    assert plan.extravars["kdeploy_lock_host"] == "10.0.0.2"
    assert plan.extravars["lock_message"] == "fixing db"


def test_acquire_needs_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), "lock", "acquire")
    assert result.exit_code == 2
    assert "Missing option '-m' / '--message'" in result.output


def test_acquire_when_held_shows_the_details_and_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    held = f"Deploy lock already in place!\n{DETAILS}\nDeploy lock found on 10.0.0.1."
    result = run(monkeypatch, StubRunner(lock_held=held), "lock", "acquire", "-m", "mine")
    assert result.exit_code == 3, result.output
    assert f"ERROR: Deploy lock already in place!\n{DETAILS}" in result.output
    assert "Acquired" not in result.output


def test_status_prints_the_decoded_details(monkeypatch: pytest.MonkeyPatch) -> None:
    # raw's stdout comes through a pty: CRLF line ends.
    stub = StubRunner({"10.0.0.1": {"rc": 0, "stdout": DETAILS.replace("\n", "\r\n") + "\r\n"}})
    result = run(monkeypatch, stub, "lock", "status", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == DETAILS + "\n"
    assert stub.plans[0].report_task == "Read the deploy lock."


def test_status_without_a_lock_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.0.1": {"rc": 0, "stdout": ""}})
    result = run(monkeypatch, stub, "lock", "status")
    assert result.exit_code == 0, result.output
    assert "There is no deploy lock" in result.output.splitlines()


def test_status_json_reports_the_lock_host_and_details(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.0.1": {"rc": 0, "stdout": DETAILS}})
    result = run(monkeypatch, stub, "lock", "status", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert report["report"] == "lock status"
    assert report["items"] == [{"host": "10.0.0.1", "locked": True, "holder": {
        "locked_by": "ops@example.com", "since": "2026-11-26T10:00:00Z", "version": "v1",
        "message": "fixing db", "automatic": False}}]
    assert report["text"] == DETAILS


def test_status_json_without_a_lock_has_no_holder(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.0.1": {"rc": 0, "stdout": ""}})
    result = run(monkeypatch, stub, "lock", "status", "--output", "json")
    assert result.exit_code == 0, result.output
    assert report_event(result.output)["items"] == [
        {"host": "10.0.0.1", "locked": False, "holder": None}]


@pytest.mark.parametrize(("stdout", "message", "released"), [
    ("released\r\n", "Released the deploy lock", True),
    ("", "There is no deploy lock", False),
])
def test_release_says_whether_there_was_a_lock(monkeypatch: pytest.MonkeyPatch, stdout: str,
                                               message: str, released: bool) -> None:
    stub = StubRunner({"10.0.0.1": {"rc": 0, "stdout": stdout}})
    result = run(monkeypatch, stub, "lock", "release", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == message + "\n"
    json_result = run(monkeypatch, stub, "lock", "release", "--output", "json")
    assert report_event(json_result.output)["items"] == [
        {"host": "10.0.0.1", "locked": False, "released": released}]


def test_audit_prints_each_hosts_lines_under_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Results arrive in completion order; the output follows the selection's host order.
    stub = StubRunner({
        "10.0.0.2": {"rc": 0, "stdout": "[t] [ops] [web_new] Booted app version v1\r\n"},
        "10.0.0.1": {"rc": 0, "stdout": "[t] [ops] [web] Booted app version v1\r\n"
                                        "[t] [ops] Booted db on 10.0.0.1\r\n"},
    })
    result = run(monkeypatch, stub, "audit", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "App Host: 10.0.0.1\n[t] [ops] [web] Booted app version v1\n"
        "[t] [ops] Booted db on 10.0.0.1\n\n"
        "App Host: 10.0.0.2\n[t] [ops] [web_new] Booted app version v1\n"
    )
    assert stub.plans[0].limit is None


def test_audit_json_gives_the_lines_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.0.2": {"rc": 0, "stdout": "line one\r\nline two\r\n"}})
    result = run(monkeypatch, stub, "audit", "-r", "web_new", "--output", "json")
    assert result.exit_code == 0, result.output
    assert report_event(result.output)["items"] == [
        {"host": "10.0.0.2", "lines": ["line one", "line two"]}]
    assert stub.plans[0].limit == "10.0.0.2"


def test_audit_with_an_unknown_role_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "audit", "-r", "nope")
    assert result.exit_code == 2
    assert "ERROR: No --roles match for nope" in result.output
    assert stub.plans == []
