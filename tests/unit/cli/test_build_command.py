"""`kdeploy build deliver|push|pull` with the build and the runner stubbed.

Pins the commands' options (Kamal's), what they hand to `push_image` and to the plan, what they
print and report as JSON, and their exit codes.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from json_events import report_event, valid_events

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.image import BuildFailed
from kdeploy.plan import Plan
from kdeploy.plan.pull import PULL_REPORT_TASK
from kdeploy.run.result import HostFailure, RunResult

WEB1, WEB2, DB = "10.0.0.1", "10.0.0.2", "10.0.0.9"
IMAGE = "registry.example.com/app:v1"
CONFIG = {
    "service": "app", "image": "app", "servers": {"web": [WEB1, WEB2]},
    "registry": {"server": "registry.example.com", "username": "deployer",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "accessories": {"db": {"image": "mysql:8.0", "host": DB}},
}


def kdeploy_cli():  # type: ignore[no-untyped-def]
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.build")
    cli_package.main = entry
    return cli_package.cli


class StubRunner:
    """Stands in for `run_plan`: records plans, replays the label each host read (or failures)."""

    def __init__(self, hosts: tuple[str, ...] = (WEB1, WEB2),
                 failures: list[HostFailure] | None = None) -> None:
        self.hosts = hosts
        self.failures = failures or []
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        self.secrets = dict(secrets)
        on_event({"event": "playbook_on_play_start", "event_data": {"play": "Pull the app image"}})
        for host in self.hosts:
            on_event({"event": "runner_on_ok", "event_data": {
                "host": host, "task": PULL_REPORT_TASK, "res": {"stdout": "app\r\n"}}})
        on_event({"event": "playbook_on_stats", "event_data": {}})
        status = "failed" if self.failures else "successful"
        return RunResult(status=status, stats={"ok": dict.fromkeys(self.hosts, 9)},
                         failures=self.failures)


class StubPush:
    """Stands in for `push_image`: records its arguments, says a line, or fails."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config, **kwargs: Any) -> None:  # type: ignore[no-untyped-def]
        self.calls.append({"config": config, **kwargs})
        kwargs["say"]("Pushed it")
        if self.error:
            raise self.error


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=registry-secret\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(monkeypatch: pytest.MonkeyPatch, runner: StubRunner, push: StubPush,
        *args: str) -> Result:
    cli = kdeploy_cli()
    monkeypatch.setattr(execute_module, "run_plan", runner)
    monkeypatch.setattr(importlib.import_module("kdeploy.cli.build"), "push_image", push)
    return CliRunner().invoke(cli, list(args), env={"VERSION": "v1"})


def events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def fields(event: dict[str, Any]) -> dict[str, Any]:
    # The event without the envelope's schema_version, time and seq (the type stays).
    return {key: value for key, value in event.items()
            if key not in ("schema_version", "time", "seq")}


def test_pull_pulls_on_the_app_hosts_and_says_where(monkeypatch: pytest.MonkeyPatch) -> None:
    runner, push = StubRunner(), StubPush()
    result = run(monkeypatch, runner, push, "build", "pull")
    assert result.exit_code == 0, result.output
    (plan,) = runner.plans
    assert (plan.command, plan.limit) == ("build pull", f"{WEB1},{WEB2}")
    assert runner.secrets == {"KDEPLOY_SECRET_KAMAL_REGISTRY_PASSWORD": "registry-secret"}
    assert f"Pulled {IMAGE} on {WEB1}, {WEB2}" in result.stdout.splitlines()
    assert push.calls == []


def test_pull_json_reports_each_hosts_label(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), StubPush(), "build", "pull", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.stdout)
    assert (report["report"], report["items"]) == ("build pull", [
        {"host": WEB1, "image": IMAGE, "label": "app"},
        {"host": WEB2, "image": IMAGE, "label": "app"}])


def test_pull_failing_on_a_host_exits_1_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = HostFailure(WEB2, "Fail when the image does not belong to the service.",
                          f"Image {IMAGE} is missing the 'service' label app on {WEB2}")
    result = run(monkeypatch, StubRunner(failures=[failure]), StubPush(), "build", "pull")
    assert result.exit_code == 1, result.output
    assert (f"    {WEB2}  Fail when the image does not belong to the service: Image {IMAGE} "
            "is missing") in result.output
    assert f"ERROR: failed on {WEB2} (" in result.output
    assert result.output.count("is missing the 'service' label") == 1  # said once
    assert "Traceback" not in result.output


def test_pull_on_an_accessory_only_host_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = StubRunner()
    result = run(monkeypatch, runner, StubPush(), "build", "pull", "-h", DB)
    assert result.exit_code == 2, result.output
    assert f"ERROR: No app hosts to pull {IMAGE} on" in result.output
    assert runner.plans == []


def test_push_passes_no_cache_and_kamals_hook_details(monkeypatch: pytest.MonkeyPatch) -> None:
    runner, push = StubRunner(), StubPush()
    result = run(monkeypatch, runner, push, "build", "push", "--no-cache", "-r", "web", "-H")
    assert result.exit_code == 0, result.output
    (call,) = push.calls
    assert (call["no_cache"], call["skip_hooks"]) == (True, True)
    context = call["hook_context"]
    assert (context.command, context.subcommand, context.roles) == ("build", "push", "web")
    assert context.hosts == (WEB1, WEB2)
    assert "Pushed it" in result.stdout.splitlines()
    assert runner.plans == []


def test_push_json_reports_the_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), StubPush(), "build", "push", "--output", "json")
    assert result.exit_code == 0, result.output
    stream = valid_events(result.stdout)
    summary = fields(stream[-1])
    assert summary.pop("duration") >= 0
    assert [fields(event) for event in stream[:-1]] == [
        {"type": "message", "level": "info", "text": "Pushed it"},
        {"type": "report", "report": "build push", "items": [
            {"host": "local", "image": IMAGE, "tags": [IMAGE, "registry.example.com/app:latest"]}]},
    ]
    # The stream ends with its terminal event: a push runs no play, so no host is in it.
    assert summary == {
        "type": "summary", "command": "build push", "check": False, "version": "v1",
        "image": IMAGE, "status": "successful", "hosts": {}, "pending_changes": False,
        "failures": [], "lock_held": False, "lock": None, "error": None, "exit_code": 0}


def test_push_quiet_tells_the_build_to_keep_its_output(monkeypatch: pytest.MonkeyPatch) -> None:
    push = StubPush()
    result = run(monkeypatch, StubRunner(), push, "build", "push", "-q")
    assert result.exit_code == 0, result.output
    assert push.calls[0]["hook_context"].verbosity == "error"
    assert result.stdout == ""


def test_failed_push_is_one_error_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    push = StubPush(BuildFailed("Building the image failed (`docker build` exited 1):\nboom"))
    result = run(monkeypatch, StubRunner(), push, "build", "push")
    assert result.exit_code == 1, result.output
    assert "ERROR: Building the image failed (`docker build` exited 1):\nboom" in result.output
    assert "Traceback" not in result.output


def test_failed_push_under_json_ends_the_stream_with_a_build_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    push = StubPush(BuildFailed("Building the image failed (`docker build` exited 1):\nboom"))
    result = run(monkeypatch, StubRunner(), push, "build", "deliver", "--output", "json")
    assert result.exit_code == 1, result.output
    # The push's line, then the error as the terminal event of the same stream (seq 2).
    assert [fields(event) for event in valid_events(result.stdout)] == [
        {"type": "message", "level": "info", "text": "Pushed it"},
        {"type": "error", "exit_code": 1, "kind": "build",
         "message": "Building the image failed (`docker build` exited 1):\nboom"}]
    assert "ERROR: Building the image failed" in result.stderr


def test_deliver_pushes_then_pulls(monkeypatch: pytest.MonkeyPatch) -> None:
    runner, push = StubRunner(), StubPush()
    result = run(monkeypatch, runner, push, "build", "deliver")
    assert result.exit_code == 0, result.output
    assert push.calls[0]["hook_context"].subcommand == "deliver"
    assert push.calls[0]["no_cache"] is False
    (plan,) = runner.plans
    assert (plan.command, plan.hooks_done) == ("build deliver", ("pre-connect",))
    lines = result.stdout.splitlines()
    assert lines.index("Pushed it") < lines.index(f"Pulled {IMAGE} on {WEB1}, {WEB2}")


def test_deliver_does_not_pull_after_a_failed_push(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = StubRunner()
    result = run(monkeypatch, runner, StubPush(BuildFailed("Pushing x failed")), "build",
                 "deliver")
    assert result.exit_code == 1, result.output
    assert runner.plans == []


def test_deliver_checks_the_hosts_before_building(monkeypatch: pytest.MonkeyPatch) -> None:
    push = StubPush()
    result = run(monkeypatch, StubRunner(), push, "build", "deliver", "-h", DB)
    assert result.exit_code == 2, result.output
    assert push.calls == []


@pytest.mark.parametrize("args", [("build", "deliver", "--no-cache"),
                                  ("build", "pull", "--no-cache"), ("build", "dev")])
def test_kamals_options_only(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    result = run(monkeypatch, StubRunner(), StubPush(), *args)
    assert result.exit_code == 2, result.output


def test_no_version_is_a_config_error(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    cli = kdeploy_cli()
    monkeypatch.setattr(execute_module, "run_plan", StubRunner())
    result = CliRunner().invoke(cli, ["build", "pull"], env={"VERSION": ""})
    assert result.exit_code == 2, result.output
    assert "no version" in result.output


def test_deliver_json_has_one_report_the_pulls(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), StubPush(), "build", "deliver", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.stdout)
    assert [item["host"] for item in report["items"]] == [WEB1, WEB2]
    assert fields(events(result)[0]) == {"type": "message", "level": "info", "text": "Pushed it"}
