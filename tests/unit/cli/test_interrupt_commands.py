"""An interrupted command settles the run's hosts, releases only its own lock, and says where
each host was left; the runner and the settle step are stubbed (the e2e tests run them)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from json_events import valid_events

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
import kdeploy.run.interrupt as interrupt_module
from kdeploy.plan import Plan
from kdeploy.run.result import RunResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ENV = {"KAMAL_REGISTRY_PASSWORD": "hunter2hunter2"}
SETTLED = {
    "10.0.3.1": {"containers": [{"name": "app-web-v1", "state": "running"},
                                {"name": "app-web-v0", "state": "exited"}],
                 "cut": [{"role": "web", "step": "waiting for app-web-v2 to be ready",
                          "left": "app-web-v2 was removed; the previous version keeps running"}],
                 "killed": [], "docker_waited": []},
    "10.0.3.2": {"containers": [{"name": "app-web-v1", "state": "running"}], "cut": [],
                 "killed": [], "docker_waited": []},
}


class Runs:
    """Both stand-ins: the command's run (cut by a signal) and the runs after it."""

    def __init__(self, settled: dict[str, Any], unreachable: tuple[str, ...] = (),
                 release: str = "released", signum: int = signal.SIGTERM) -> None:
        self.settled, self.unreachable, self.release = settled, unreachable, release
        self.signum = signum
        self.plans: list[Plan] = []
        self.cancellable: list[bool] = []

    def __call__(self, config: Any, plan: Plan, secrets: Any, on_event: Any,
                 cancellable: bool = True) -> RunResult:
        self.plans.append(plan)
        self.cancellable.append(cancellable)
        if plan.command == "settle":
            for host, res in self.settled.items():
                on_event({"event": "runner_on_ok", "event_data": {
                    "host": host, "task": "Settle the host.", "res": res}})
            for host in self.unreachable:
                on_event({"event": "runner_on_unreachable", "event_data": {
                    "host": host, "task": "Settle the host.",
                    "res": {"msg": "Failed to connect to the host via ssh: ssh: connect to host "
                                   "10.0.3.3 port 22: Connection timed out"}}})
            return RunResult(status="successful" if not self.unreachable else "failed")
        if plan.command.endswith("_release_lock"):
            on_event({"event": "runner_on_ok", "event_data": {
                "task": "Release the deploy lock.", "res": {"stdout": self.release + "\r\n"}}})
            return RunResult(status="successful")
        hosts = {"10.0.3.1", "10.0.3.2", *self.unreachable}
        return RunResult(status="canceled", rc=254, signal=self.signum, hosts=hosts,
                         reached=hosts)


def _deploy(monkeypatch: pytest.MonkeyPatch, runs: Runs, *extra: str) -> Any:
    monkeypatch.chdir(FIXTURES)
    monkeypatch.setattr(execute_module, "run_plan", runs)
    monkeypatch.setattr(interrupt_module, "run_plan", runs)
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, ["deploy", "-P", "--version", "v2", "-c",
                                                "deploy_with_roles.yml", *extra], env=ENV)


def test_sigterm_settles_the_hosts_then_releases_the_lock_and_exits_143(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = Runs(SETTLED)
    result = _deploy(monkeypatch, runs)
    assert result.exit_code == 143, result.output
    deploy, settle, release = runs.plans
    assert [plan.command for plan in runs.plans] == ["deploy", "settle", "deploy_release_lock"]
    # The cleanup runs to the end, whatever signal comes next.
    assert runs.cancellable == [True, False, False]
    assert settle.limit == "10.0.3.1,10.0.3.2"
    assert settle.extravars["settle_prefixes"][0] == "app-"
    assert release.extravars["lock_owner_run"] == deploy.extravars["kdeploy_run_id"]
    assert ("10.0.3.1  release of web cut off while waiting for app-web-v2 to be ready: "
            "app-web-v2 was removed; the previous version keeps running") in result.output
    assert "10.0.3.1  running: app-web-v1\n" in result.output
    assert "10.0.3.2  running: app-web-v1\n" in result.output
    assert "ERROR: Interrupted by SIGTERM; the deploy lock was released" in result.output


def test_a_host_that_cannot_be_settled_keeps_the_lock_and_is_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = Runs(SETTLED, unreachable=("10.0.3.3",), signum=signal.SIGINT)
    result = _deploy(monkeypatch, runs)
    assert result.exit_code == 130, result.output
    assert [plan.command for plan in runs.plans] == ["deploy", "settle"]
    assert "10.0.3.3  not settled: unreachable: connection timed out (" in result.output
    assert ("the deploy lock is kept: 10.0.3.3 could not be reached to stop this run's work "
            "there") in result.output


def test_a_lock_this_run_did_not_take_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _deploy(monkeypatch, Runs(SETTLED, release="kept: not taken by this run"))
    assert "the deploy lock was not taken by this run and stays" in result.output


def test_json_output_reports_each_hosts_state(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _deploy(monkeypatch, Runs(SETTLED), "--output", "json")
    events = valid_events("\n".join(line for line in result.output.splitlines()
                                    if line.startswith("{")))
    (report,) = [event for event in events if event["type"] == "report"]
    assert (report["report"], report["signal"]) == ("interrupted", "SIGTERM")
    hosts = {item["host"]: item for item in report["items"]}
    assert hosts["10.0.3.1"]["state"] == "settled"
    assert hosts["10.0.3.1"]["running"] == ["app-web-v1"]
    assert hosts["10.0.3.1"]["stopped"] == ["app-web-v0"]
    assert hosts["10.0.3.1"]["cut"][0]["role"] == "web"
    assert events[-1]["type"] == "summary" and events[-1]["exit_code"] == 143


def test_a_cut_off_accessory_boot_is_named_a_boot() -> None:
    from kdeploy.run.interrupt import HostRest, Settled, report_lines

    note = {"module": "kdeploy.deploy.accessory_boot", "role": "accessory db",
            "container": "app-db", "step": "waiting until it is healthy",
            "left": "app-db runs, not yet healthy"}
    lines = report_lines(Settled([HostRest("10.0.3.1", True, running=["app-db"], cut=[note])]))
    assert lines[0] == ("    10.0.3.1  boot of accessory db cut off while waiting until it is "
                        "healthy: app-db runs, not yet healthy")
