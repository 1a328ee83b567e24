"""`kdeploy prune`, `registry login|logout` and `server bootstrap|exec` with a stubbed runner.

The runner stub records each plan and replays the results a real run sends for the plan's report
task; the local docker client and `ssh` are stubbed too. These tests pin the options (Kamal's),
what the commands print, their JSON and their exit codes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from json_events import report_event

import kdeploy.cli as cli_package
import kdeploy.cli.server as server_module
import kdeploy.image.local_docker as local_docker
import kdeploy.run.execute as execute_module
from kdeploy.plan import Plan
from kdeploy.run.result import HostFailure, RunResult

WEB1, WEB2, JOB = "10.0.50.1", "10.0.50.2", "10.0.50.3"
PASSWORD = "s3cret-registry-password"
CONFIG: dict[str, Any] = {
    "service": "app",
    "image": "app",
    "servers": {"web": [WEB1, WEB2], "job": [JOB]},
    "registry": {"server": "registry.example.com:5000", "username": "deploy",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "retain_containers": 3,
}


def kdeploy_cli():  # type: ignore[no-untyped-def]
    for name in ("prune", "registry", "server"):
        importlib.import_module(f"kdeploy.cli.{name}")
    return cli_package.cli


class StubRunner:
    """Stands in for `run_plan`: records plans, replays report-task results, may fail a host."""

    def __init__(self, results: dict[str, dict[str, Any]] | None = None,
                 lock_held: str | None = None, failure: HostFailure | None = None) -> None:
        self.results = results or {}
        self.lock_held = lock_held
        self.failure = failure
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        self.secrets = dict(secrets)
        on_event({"event": "playbook_on_play_start", "event_data": {"play": "Part"}})
        for host, res in self.results.items():
            on_event({"event": "runner_on_ok",
                      "event_data": {"host": host, "task": plan.report_task, "res": res}})
        on_event({"event": "playbook_on_stats", "event_data": {}})
        if self.lock_held:
            return RunResult(status="failed", rc=2, lock_held=self.lock_held)
        if self.failure and len(self.plans) == 1:
            return RunResult(status="failed", rc=2, failures=[self.failure])
        return RunResult(status="successful")


class StubDocker:
    """Stands in for the local docker client (`subprocess.run` in kdeploy.image.local_docker)."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.returncode, self.stderr = returncode, stderr
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, argv, input=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append((argv, input))
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project dir with config/deploy.yml and .kamal/secrets, as the working directory."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(f"KAMAL_REGISTRY_PASSWORD={PASSWORD}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(local_docker.shutil, "which", lambda name: f"/usr/bin/{name}")
    return tmp_path


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str,
        docker: StubDocker | None = None):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    # Only kdeploy.image.local_docker's subprocess: hooks still run for real.
    monkeypatch.setattr(local_docker, "subprocess", SimpleNamespace(
        run=docker or StubDocker(), TimeoutExpired=subprocess.TimeoutExpired))
    return CliRunner().invoke(kdeploy_cli(), list(args), env={"VERSION": "v1"})


def json_events(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# --- prune -----------------------------------------------------------------------------------

@pytest.mark.parametrize("what", ["all", "images", "containers"])
def test_prune_runs_its_plan_under_the_lock(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            what: str) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "prune", what)
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert plan.command == f"prune {what}"
    assert [part.playbook for part in plan.imports][::len(plan.imports) - 1] == [
        "lock_acquire.yml", "lock_release.yml"]
    assert plan.lock_host == WEB1


def test_prune_containers_takes_retain_from_the_config_or_the_option(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    assert run(monkeypatch, stub, "prune", "containers").exit_code == 0
    assert run(monkeypatch, stub, "prune", "containers", "--retain", "7").exit_code == 0
    assert [plan.extravars["prune_retain"] for plan in stub.plans] == [3, 7]


def test_prune_containers_with_retain_zero_fails_before_any_host(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "prune", "containers", "--retain", "0")
    assert result.exit_code == 2
    assert "ERROR: retain must be at least 1" in result.output
    assert stub.plans == []


@pytest.mark.parametrize("what", ["all", "images"])
def test_only_prune_containers_takes_retain(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            what: str) -> None:
    result = run(monkeypatch, StubRunner(), "prune", what, "--retain", "2")
    assert result.exit_code == 2
    assert "No such option '--retain'" in result.output


def test_prune_when_the_lock_is_held_exits_3(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    held = "Deploy lock already in place!\nLocked by: ops at t\nVersion: v0\nMessage: m"
    result = run(monkeypatch, StubRunner(lock_held=held), "prune", "all")
    assert result.exit_code == 3, result.output
    assert "ERROR: Deploy lock already in place!" in result.output


def test_a_failed_prune_releases_the_lock_and_exits_1(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    failure = HostFailure(WEB2, "Remove the service's images no container uses.", "rc 1")
    stub = StubRunner(failure=failure)
    result = run(monkeypatch, stub, "prune", "images", "-r", "web")
    assert result.exit_code == 1, result.output
    assert f"    {WEB2}  Remove the service's images no container uses: rc 1" in result.output
    assert f"ERROR: failed on {WEB2} (" in result.output
    assert [plan.command for plan in stub.plans] == ["prune images",
                                                     "prune images_release_lock"]
    assert stub.plans[1].limit == WEB1


def test_prune_without_a_version_is_a_usage_error(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute_module, "run_plan", StubRunner())
    result = CliRunner().invoke(kdeploy_cli(), ["prune", "all"], env={"VERSION": ""})
    assert result.exit_code == 2
    assert "No version for the lock details" in result.output


# --- server bootstrap ------------------------------------------------------------------------

def test_server_bootstrap_runs_the_bootstrap_part_locked_on_the_filtered_hosts(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "server", "bootstrap", "-r", "job")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert [part.playbook for part in plan.imports] == [
        "lock_acquire.yml", "bootstrap.yml", "lock_release.yml"]
    assert (plan.limit, plan.lock_host) == (JOB, JOB)


# --- server exec -----------------------------------------------------------------------------

EXEC_RESULTS = {
    WEB2: {"rc": 0, "stdout": "web2 up\r\n"},
    WEB1: {"rc": 0, "stdout": "web1 up\r\nsecond line\r\n"},
    JOB: {"rc": 0, "stdout": "\r\n"},
}


def test_exec_prints_each_hosts_output_under_its_name(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner(EXEC_RESULTS)
    result = run(monkeypatch, stub, "server", "exec", "uptime")
    assert result.exit_code == 0, result.output
    assert f"Running 'uptime' on {WEB1}, {WEB2}, {JOB}..." in result.output.splitlines()
    # Selection order, not completion order; Kamal's `App Host:` header.
    assert (f"App Host: {WEB1}\nweb1 up\nsecond line\n\nApp Host: {WEB2}\nweb2 up\n\n"
            f"App Host: {JOB}\n\n") in result.output
    assert stub.plans[0].limit is None


def test_exec_quiet_prints_only_the_outputs(project: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(EXEC_RESULTS), "server", "exec", "-q", "uptime")
    assert result.exit_code == 0, result.output
    assert result.output == "web1 up\nsecond line\n\nweb2 up\n\n\n"


def test_exec_joins_the_words_after_the_command_into_it(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Options after the first word of CMD belong to CMD, even kdeploy's own (-r, -q).
    stub = StubRunner({JOB: {"rc": 0, "stdout": "x"}})
    result = run(monkeypatch, stub, "server", "exec", "-r", "job", "ls", "-la", "-q", "/tmp")
    assert result.exit_code == 0, result.output
    assert stub.plans[0].extravars["kdeploy_server_exec_command"] == "ls -la -q /tmp"
    assert stub.plans[0].limit == JOB


def test_exec_json_reports_stdout_and_rc_per_host(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(EXEC_RESULTS), "server", "exec", "--output", "json",
                 "uptime")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert (report["report"], report["items"]) == ("server exec", [
        {"host": WEB1, "rc": 0, "output": "web1 up\nsecond line"},
        {"host": WEB2, "rc": 0, "output": "web2 up"},
        {"host": JOB, "rc": 0, "output": ""}])
    assert "Running" not in result.output


def test_a_failing_command_still_shows_every_output_and_exits_1(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failure = HostFailure(JOB, "Fail because the command failed.",
                          f"'false' exited with status 1 on {JOB}")
    stub = StubRunner({**EXEC_RESULTS, JOB: {"rc": 1, "stdout": "boom\r\n"}}, failure=failure)
    result = run(monkeypatch, stub, "server", "exec", "false")
    assert result.exit_code == 1, result.output
    assert f"App Host: {JOB}\nboom" in result.output
    assert f"    {JOB}  Fail because the command failed: 'false' exited with status 1" \
        in result.output
    assert f"ERROR: failed on {JOB} (" in result.output
    assert len(stub.plans) == 1  # no lock, nothing to release


def test_exec_needs_a_command(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), "server", "exec")
    assert result.exit_code == 2
    assert "Missing argument 'CMD...'" in result.output


def test_exec_interactive_replaces_kdeploy_with_ssh_to_the_primary_host(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(server_module.os, "execvp", lambda file, argv: calls.append(argv))
    stub = StubRunner()
    result = run(monkeypatch, stub, "server", "exec", "-i", "-r", "job", "bash")
    assert result.exit_code == 0, result.output
    assert f"Running 'bash' on {JOB} interactively..." in result.output
    assert calls == [["ssh", "-t", f"root@{JOB}", "-p", "22", "bash"]]
    assert stub.plans == []


def test_exec_interactive_runs_the_pre_connect_hook_first(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = project / ".kamal" / "hooks" / "pre-connect"
    hook.parent.mkdir(parents=True)
    marker = project / "hook-ran"
    hook.write_text("#!/bin/sh\n"
                    f"echo \"$KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_LOCK\" > {marker}\n")
    hook.chmod(0o755)
    monkeypatch.setattr(server_module.os, "execvp", lambda file, argv: None)
    result = run(monkeypatch, StubRunner(), "server", "exec", "-i", "bash")
    assert result.exit_code == 0, result.output
    assert marker.exists(), result.output
    assert marker.read_text() == "server exec false\n"
    hook.write_text("#!/bin/sh\nexit 1\n")
    failed = run(monkeypatch, StubRunner(), "server", "exec", "-i", "bash")
    assert failed.exit_code == 1
    assert "Hook `pre-connect` failed" in failed.output


def test_exec_interactive_has_no_json_output(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), "server", "exec", "-i", "--output", "json", "bash")
    assert result.exit_code == 2
    assert "--output json does not apply to -i" in result.output


def test_exec_interactive_without_ssh_is_one_line(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(file: str, argv: list[str]) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(server_module.os, "execvp", missing)
    result = run(monkeypatch, StubRunner(), "server", "exec", "-i", "bash")
    assert result.exit_code == 2
    assert "ERROR: Cannot start ssh: No such file or directory" in result.output
    assert "Traceback" not in result.output


# --- registry --------------------------------------------------------------------------------

def test_login_logs_in_locally_with_the_password_on_stdin_then_on_the_hosts(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub, docker = StubRunner(), StubDocker()
    result = run(monkeypatch, stub, "registry", "login", docker=docker)
    assert result.exit_code == 0, result.output
    ((argv, stdin),) = docker.calls
    assert argv == ["/usr/bin/docker", "login", "registry.example.com:5000", "-u", "deploy",
                    "--password-stdin"]
    assert stdin == PASSWORD
    assert "Logged in to registry.example.com:5000 locally" in result.output
    (plan,) = stub.plans
    assert plan.command == "registry login"
    assert stub.secrets == {"KDEPLOY_SECRET_KAMAL_REGISTRY_PASSWORD": PASSWORD}
    assert PASSWORD not in result.output


def test_login_skip_local_and_skip_remote(project: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    stub, docker = StubRunner(), StubDocker()
    assert run(monkeypatch, stub, "registry", "login", "-L", docker=docker).exit_code == 0
    assert (len(stub.plans), docker.calls) == (1, [])
    assert run(monkeypatch, stub, "registry", "login", "-R", docker=docker).exit_code == 0
    assert (len(stub.plans), len(docker.calls)) == (1, 1)
    both = run(monkeypatch, stub, "registry", "login", "--skip-local", "--skip-remote",
               docker=docker)
    assert both.exit_code == 0
    assert (len(stub.plans), len(docker.calls)) == (1, 1)


def test_login_only_locally_still_ends_json_with_a_summary(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(monkeypatch, StubRunner(), "registry", "login", "-R", "--output", "json")
    assert result.exit_code == 0, result.output
    events = json_events(result.output)
    assert [event["type"] for event in events] == ["message", "summary"]
    assert events[-1]["exit_code"] == 0


def test_a_refused_local_login_exits_1_without_the_password(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docker = StubDocker(returncode=1, stderr=f"Error response: unauthorized {PASSWORD}\n")
    stub = StubRunner()
    result = run(monkeypatch, stub, "registry", "login", docker=docker)
    assert result.exit_code == 1
    assert "ERROR: Local docker login to registry.example.com:5000 failed: " in result.output
    assert PASSWORD not in result.output
    assert stub.plans == []  # Kamal stops at the local failure too


def test_login_without_docker_locally_is_one_line(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_docker.shutil, "which", lambda name: None)
    result = run(monkeypatch, StubRunner(), "registry", "login")
    assert result.exit_code == 2
    assert "ERROR: Docker is not installed locally" in result.output


def test_login_with_a_missing_secret_names_it(project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".kamal" / "secrets").write_text("OTHER=x\n")
    result = run(monkeypatch, StubRunner(), "registry", "login")
    assert result.exit_code == 2
    assert "Secret 'KAMAL_REGISTRY_PASSWORD' not found" in result.output


@pytest.mark.parametrize("action", ["login", "logout"])
def test_registry_commands_refuse_a_local_registry(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   action: str) -> None:
    config = {**CONFIG, "registry": {"server": "localhost:5000"}}
    (project / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    stub, docker = StubRunner(), StubDocker()
    result = run(monkeypatch, stub, "registry", action, "-L", docker=docker)
    assert result.exit_code == 2
    assert f"ERROR: Cannot use {action} command with a local registry" in result.output
    assert (stub.plans, docker.calls) == ([], [])


def test_logout_logs_out_locally_then_on_the_filtered_hosts(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub, docker = StubRunner(), StubDocker()
    result = run(monkeypatch, stub, "registry", "logout", "-h", JOB, docker=docker)
    assert result.exit_code == 0, result.output
    assert docker.calls == [(["/usr/bin/docker", "logout", "registry.example.com:5000"], None)]
    (plan,) = stub.plans
    assert (plan.command, plan.limit, plan.secret_names) == ("registry logout", JOB, ())


def test_logout_from_docker_hub_names_no_server(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = {**CONFIG, "registry": {"username": "deploy", "password": ["KAMAL_REGISTRY_PASSWORD"]}}
    (project / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    docker = StubDocker()
    result = run(monkeypatch, StubRunner(), "registry", "logout", "-R", docker=docker)
    assert result.exit_code == 0, result.output
    assert docker.calls == [(["/usr/bin/docker", "logout"], None)]
    assert "Logged out of Docker Hub locally" in result.output


# --- hooks: the points these commands declare (plan/hook_points.py) ------------------------------

def _kamal_hook(project: Path, name: str, log: Path) -> None:
    hook = project / ".kamal" / "hooks" / name
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\necho \"{name} $KAMAL_COMMAND $KAMAL_SUBCOMMAND lock=$KAMAL_LOCK\""
                    f" >> {log}\n")
    hook.chmod(0o755)


def test_bootstrap_runs_docker_setup_after_the_bootstrap_while_locked(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = project / "hooks.log"
    for name in ("pre-connect", "docker-setup"):
        _kamal_hook(project, name, log)
    stub = StubRunner()
    result = run(monkeypatch, stub, "server", "bootstrap")
    assert result.exit_code == 0, result.output
    assert log.read_text().splitlines() == ["pre-connect server bootstrap lock=false",
                                            "docker-setup server bootstrap lock=true"]
    # Cut exactly at the hook: lock + bootstrap, then (after docker-setup) the release.
    assert [[part.playbook for part in plan.imports] for plan in stub.plans] == [
        ["lock_acquire.yml", "bootstrap.yml"], ["lock_release.yml"]]
    skipped = run(monkeypatch, StubRunner(), "server", "bootstrap", "-H")
    assert skipped.exit_code == 0
    assert len(log.read_text().splitlines()) == 2


@pytest.mark.parametrize("args", [("prune", "all"), ("registry", "logout", "-L"),
                                  ("server", "exec", "uptime")])
def test_every_command_that_connects_runs_pre_connect_first(
        project: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    log = project / "hooks.log"
    _kamal_hook(project, "pre-connect", log)
    stub = StubRunner()
    result = run(monkeypatch, stub, *args)
    assert result.exit_code == 0, result.output
    assert log.read_text() == f"pre-connect {args[0]} {args[1]} lock=false\n"
    assert len(stub.plans) == 1  # pre-connect sits before everything: no cut
