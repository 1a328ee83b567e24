"""`kdeploy deploy|redeploy|rollback|app boot` with a stubbed runner (and a stubbed build)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from json_events import valid_events

import kdeploy.cli as cli_package
import kdeploy.image as build_module
import kdeploy.run.execute as execute_module
from kdeploy.plan import HostsPlay, Plan
from kdeploy.run.result import HostFailure, RunResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
CONFIG = ("-c", "deploy_with_roles.yml")
ENV = {"KAMAL_REGISTRY_PASSWORD": "hunter2hunter2"}


def kdeploy_cli():  # type: ignore[no-untyped-def]
    cli_package._register_commands()
    return cli_package.cli


class StubRunner:
    def __init__(self, result: RunResult | None = None) -> None:
        self.result = result or RunResult(status="successful")
        self.plans: list[Plan] = []
        self.secrets: list[dict[str, str]] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        self.secrets.append(dict(secrets))
        return self.result if not plan.command.endswith("_release_lock") else RunResult(
            status="successful")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> StubRunner:
    monkeypatch.chdir(FIXTURES)
    stub = StubRunner()
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return stub


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(build_module, "push_image",
                        lambda config, **kwargs: calls.append({"version": config.version,
                                                               **kwargs}))
    return calls


def invoke(*args: str) -> Any:
    return CliRunner().invoke(kdeploy_cli(), list(args), env=ENV)


def test_deploy_with_skip_push_runs_the_plan_once_without_building(
        runner: StubRunner, pushes: list[dict[str, Any]]) -> None:
    result = invoke("deploy", "-P", "--version", "v2", *CONFIG)
    assert result.exit_code == 0, result.output
    assert pushes == []
    (plan,) = runner.plans
    assert (plan.command, plan.playbook) == ("deploy", "deploy.yml")
    assert runner.secrets == [{"KDEPLOY_SECRET_KAMAL_REGISTRY_PASSWORD": "fake-registry-password"}]
    assert "fake-registry-password" not in result.output


def test_deploy_builds_and_pushes_first_without_skip_push(
        runner: StubRunner, pushes: list[dict[str, Any]]) -> None:
    result = invoke("deploy", "--version", "v2", "--no-cache", "-H", *CONFIG)
    assert result.exit_code == 0, result.output
    assert pushes == [{"version": "v2", "no_cache": True, "say": pushes[0]["say"],
                       "skip_hooks": True, "hook_context": pushes[0]["hook_context"]}]
    assert pushes[0]["hook_context"].command == "deploy"
    assert [plan.command for plan in runner.plans] == ["deploy"]
    assert runner.plans[0].hooks_done == ("pre-connect",)  # the build ran it


@pytest.mark.parametrize("filters", [(), ("-r", "workers"), ("--roles", "web")])
def test_setup_builds_and_pushes_first_without_skip_push(
        runner: StubRunner, pushes: list[dict[str, Any]], filters: tuple[str, ...]) -> None:
    result = invoke("setup", "--version", "v3", "--no-cache", *filters, *CONFIG)
    assert result.exit_code == 0, result.output
    assert [(push["version"], push["no_cache"], push["hook_context"].command)
            for push in pushes] == [("v3", True, "setup")]
    (plan,) = runner.plans
    assert plan.command == "setup" and plan.extravars["kdeploy_pull"] is True
    assert plan.hooks_done == ("pre-connect",)  # the build ran it


def test_setup_with_skip_push_does_not_build(
        runner: StubRunner, pushes: list[dict[str, Any]]) -> None:
    result = invoke("setup", "-P", "--version", "v3", *CONFIG)
    assert result.exit_code == 0, result.output
    assert pushes == []
    (plan,) = runner.plans
    assert plan.command == "setup" and plan.hooks_done == ()


def test_export_never_builds(runner: StubRunner, pushes: list[dict[str, Any]],
                             tmp_path: Path) -> None:
    for flags in ((), ("-P",)):
        target = tmp_path / f"export{len(flags)}"
        result = invoke("export", str(target), "--version", "v3", *flags, *CONFIG)
        assert result.exit_code == 0, result.output
        assert (target / "env" / "extravars").exists()
    assert pushes == [] and runner.plans == []


def test_role_is_the_same_option_as_roles(runner: StubRunner) -> None:
    # `kdeploy setup --role web_new`, as people write it, is `-r web_new`.
    for flag in ("-r", "--roles", "--role", "--role="):
        args = [f"{flag}workers"] if flag.endswith("=") else [flag, "workers"]
        result = invoke("setup", "-P", "--version", "v3", *args, *CONFIG)
        assert result.exit_code == 0, result.output
    plans = [(plan.limit, plan.tags, plan.skip_tags, plan.imports,
              {k: v for k, v in plan.extravars.items() if k != "kdeploy_run_id"})
             for plan in runner.plans]
    assert plans[0][0] == "role_workers"
    assert plans == [plans[0]] * 4
    selected = invoke("config", "--json", "-P", "--role", "web", *CONFIG)
    assert json.loads(selected.output)["roles"] == ["web"]


def test_a_role_prefix_is_not_an_option(runner: StubRunner) -> None:
    # Neither Kamal (Thor) nor kdeploy completes an abbreviated long option.
    result = invoke("setup", "-P", "--rol", "workers", *CONFIG)
    assert result.exit_code == 2
    assert "No such option '--rol'" in result.output
    assert runner.plans == []


def test_deploy_json_gives_the_build_lines_as_message_events(
        runner: StubRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # The build's lines are events of the same stream, never raw text on stdout.
    monkeypatch.setattr(build_module, "push_image",
                        lambda config, **kwargs: kwargs["say"]("Pushing app:v2"))
    result = invoke("deploy", "--version", "v2", "-H", "--output", "json", *CONFIG)
    assert result.exit_code == 0, result.output
    events = valid_events(result.stdout)
    assert [(event["type"], event.get("text")) for event in events[:2]] == [
        ("message", "Pushing app:v2"), ("run_start", None)]
    assert events[-1]["type"] == "summary"


def test_rollback_takes_the_version_as_its_argument(runner: StubRunner) -> None:
    result = invoke("rollback", "v0", *CONFIG)
    assert result.exit_code == 0, result.output
    (plan,) = runner.plans
    assert plan.command == "rollback" and plan.extravars["kdeploy_version"] == "v0"


def test_app_boot_defaults_to_the_latest_image(runner: StubRunner) -> None:
    result = invoke("app", "boot", "-r", "workers", *CONFIG)
    assert result.exit_code == 0, result.output
    (plan,) = runner.plans
    assert plan.extravars["kdeploy_version"] == "latest"
    boots = [entry for entry in plan.imports if isinstance(entry, HostsPlay)]
    slot_roles = boots[0].tasks[0].vars["kdeploy_slot_roles"]
    assert [play.hosts for play in boots] == [",".join(slot_roles)]
    assert set(slot_roles.values()) == {"workers"}


def test_a_failed_boot_exits_1_and_releases_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    failure = HostFailure("10.0.3.1", "Boot the version and stop the other versions.",
                          "Failed to boot app-web-v2: not ready\nlog line")
    stub = StubRunner(RunResult(status="failed", rc=2, failures=[failure]))
    monkeypatch.setattr(execute_module, "run_plan", stub)
    result = invoke("deploy", "-P", "--version", "v2", *CONFIG)
    assert result.exit_code == 1
    assert [plan.command for plan in stub.plans] == ["deploy", "deploy_release_lock"]
    assert "--> kdeploy deploy failed on 1 host in " in result.output
    assert ("    10.0.3.1  Boot the version and stop the other versions: Failed to boot "
            "app-web-v2: not ready\n") \
        in result.output
    assert "ERROR: failed on 10.0.3.1 (" in result.output
    assert result.output.count("Failed to boot app-web-v2") == 1  # the error does not repeat it
    assert "Traceback" not in result.output


def test_an_interrupted_deploy_exits_130_after_releasing_the_lock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    stub = StubRunner(RunResult(status="canceled", rc=254, signal=signal.SIGINT))
    monkeypatch.setattr(execute_module, "run_plan", stub)
    result = invoke("deploy", "-P", "--version", "v2", *CONFIG)
    assert result.exit_code == 130
    assert [plan.command for plan in stub.plans] == ["deploy", "deploy_release_lock"]
    release = stub.plans[1]
    # Only the lock this run took: the release names the run that took it.
    assert release.extravars["lock_owner_run"] == stub.plans[0].extravars["kdeploy_run_id"]
    assert "Interrupted by SIGINT; no deploy lock was held" in result.output


@pytest.mark.parametrize("args", [
    ("deploy", "-P", "--version", "v2", "-r", "nope"),
    ("rollback", "v1", "-c", "deploy_with_only_accessories.yml"),
])
def test_bad_filters_are_one_line_and_exit_2(runner: StubRunner, args: tuple[str, ...]) -> None:
    result = invoke(*args, *(() if "-c" in args else CONFIG))
    assert result.exit_code == 2
    assert result.output.startswith("ERROR: ") and "Traceback" not in result.output
    assert runner.plans == []


def test_the_header_names_version_image_and_roles_and_the_end_the_outcome(
        runner: StubRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "0")
    result = invoke("deploy", "-P", "--version", "v2", *CONFIG)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("--> Deploying app v2 (registry.example.com/dhh/app:v2) to "
                        "web (2 hosts), workers (2 hosts)")
    assert lines[-1].startswith("--> Deployed app v2 to web (2 hosts), workers (2 hosts) in ")
    assert "--limit" not in result.output and "ansible-playbook" not in result.output
    quiet_filter = invoke("deploy", "-P", "--version", "v2", "-r", "web", *CONFIG)
    assert quiet_filter.output.startswith("--> Deploying app v2 (registry.example.com/dhh/app:v2) "
                                          "to web (2 hosts)\n"), quiet_filter.output
    assert "--limit" not in quiet_filter.output
    assert invoke("deploy", "-P", "--version", "v2", "-v", *CONFIG).exit_code == 0
    assert os.environ["ANSIBLE_VERBOSITY"] == "0"  # -v is kdeploy's: Ansible stays quiet


def test_vv_passes_ansible_its_own_verbosity(runner: StubRunner,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "0")
    result = invoke("deploy", "-P", "--version", "v2", "-vvv", *CONFIG)
    assert result.exit_code == 0, result.output
    assert os.environ["ANSIBLE_VERBOSITY"] == "3"
