"""`--check`, `--diff`, `--exit-code` with a stubbed runner: what the plan asks of Ansible, what
the output says, and the exit codes (4 only with `--exit-code` and pending changes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from json_events import valid_events

import kdeploy.cli as cli_package
import kdeploy.image as build_module
import kdeploy.run.execute as execute_module
from kdeploy.plan import HostsPlay, Plan, PlaybookImport
from kdeploy.plan.check import for_check
from kdeploy.plan.model import HookPoint
from kdeploy.run.result import HostFailure, RunResult, merge_results
from kdeploy.run.runner import _collect

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ENV = {"KAMAL_REGISTRY_PASSWORD": "hunter2hunter2"}
REPLACE = {"kind": "app", "name": "web", "action": "replace", "from": "app-web-v1",
           "to": "app-web-v2", "image": "registry:5000/app:v2"}
SECRET_FIELD = {"kind": "accessory", "name": "db", "action": "replace",
                "fields": [{"field": "port", "before": "5432:5432", "after": "5433:5432"},
                           {"field": "env.DB_PASSWORD", "secret": True}]}

# Every command of the list, with what it needs beside --check.
COMMANDS = {
    "setup": ("setup", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "deploy": ("deploy", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "redeploy": ("redeploy", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "rollback": ("rollback", "v1", "-c", "deploy_with_accessories.yml"),
    "remove": ("remove", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "accessory boot": ("accessory", "boot", "all", "--version", "v2", "-c",
                       "deploy_with_accessories.yml"),
    "accessory reboot": ("accessory", "reboot", "all", "--version", "v2", "-c",
                         "deploy_with_accessories.yml"),
    "accessory remove": ("accessory", "remove", "all", "--version", "v2", "-c",
                         "deploy_with_accessories.yml"),
    "prune all": ("prune", "all", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "prune images": ("prune", "images", "--version", "v2", "-c",
                     "deploy_with_accessories.yml"),
    "prune containers": ("prune", "containers", "--version", "v2", "-c",
                         "deploy_with_accessories.yml"),
    "proxy boot": ("proxy", "boot", "--version", "v2", "-c", "deploy_with_accessories.yml"),
    "proxy reboot": ("proxy", "reboot", "--version", "v2", "-c",
                     "deploy_with_accessories.yml"),
}


def kdeploy_cli():  # type: ignore[no-untyped-def]
    cli_package._register_commands()
    return cli_package.cli


class StubRunner:
    """Stands in for `run_plan`: records the plans and returns `result` for each."""

    def __init__(self, result: RunResult | None = None) -> None:
        self.result = result or RunResult(status="successful",
                                          stats={"ok": {"10.0.0.1": 3}})
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        return self.result


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> StubRunner:
    monkeypatch.chdir(FIXTURES)
    stub = StubRunner()
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return stub


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(build_module, "push_image", lambda config, **kwargs: calls.append(config))
    return calls


def invoke(*args: str) -> Any:
    return CliRunner().invoke(kdeploy_cli(), list(args), env=ENV)


def pending(*changes: dict[str, Any], host: str = "10.0.0.1") -> RunResult:
    result = RunResult(status="successful", stats={"ok": {host: 3}})
    result.add_outcome(host, {"changes": list(changes)})
    return result


def playbooks(plan: Plan) -> list[str]:
    return [entry.playbook for entry in plan.imports if isinstance(entry, PlaybookImport)]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_listed_command_runs_a_check_without_the_lock(
        runner: StubRunner, pushes: list[Any], command: str) -> None:
    result = invoke(*COMMANDS[command], "--check", "--diff", "--exit-code")
    assert result.exit_code == 0, result.output
    assert pushes == []  # no build, no push
    (plan,) = runner.plans  # one run: no hook split, no lock release after it
    assert (plan.check, plan.diff, plan.lock_host, plan.hook_points) == (True, True, None, ())
    assert plan.mode_args() == ["--check", "--diff"]
    assert "lock_acquire.yml" not in playbooks(plan)
    assert "lock_release.yml" not in playbooks(plan)
    assert "Are you sure" not in result.output  # no question: nothing will change
    assert "--> No changes: every host matches the config" in result.output


def test_a_check_reads_the_lock_where_the_real_run_takes_it(runner: StubRunner) -> None:
    invoke(*COMMANDS["deploy"], "-P")
    invoke(*COMMANDS["deploy"], "-P", "--check")
    real, check = runner.plans
    at = playbooks(real).index("lock_acquire.yml")
    assert playbooks(check)[at] == "lock_status.yml"
    assert len(playbooks(check)) == len(playbooks(real)) - 1  # without the release
    assert real.lock_host is not None
    assert check.extravars["kdeploy_lock_host"] == real.lock_host


def test_the_runner_gets_check_and_diff_on_its_command_line(runner: StubRunner,
                                                             monkeypatch, tmp_path) -> None:
    import ansible_runner

    import kdeploy.run.runner as runner_module

    seen: dict[str, Any] = {}

    class Done:
        status, rc, stdout = "successful", 0, None

    def fake_run(**kwargs: Any) -> Done:
        seen.update(kwargs)
        return Done()

    monkeypatch.setattr(ansible_runner, "run", fake_run)
    invoke(*COMMANDS["redeploy"], "-P", "--check", "--diff")
    (plan,) = runner.plans
    from kdeploy.config import load_config
    config = load_config("deploy_with_accessories.yml", version="v2")
    runner_module.run_plan(config, plan, {}, lambda event: None, keep_dir=tmp_path)
    assert seen["cmdline"] == "redeploy.yml --check --diff"


def test_deploy_without_skip_push_does_not_build_in_check_mode(
        runner: StubRunner, pushes: list[Any]) -> None:
    result = invoke(*COMMANDS["deploy"], "--check")
    assert result.exit_code == 0, result.output
    assert pushes == []
    assert "--check: the image is not built or pushed; hosts are compared with" in result.output


def test_exit_code_needs_check(runner: StubRunner) -> None:
    result = invoke(*COMMANDS["deploy"], "-P", "--exit-code")
    assert result.exit_code == 2
    assert "--exit-code needs --check" in result.output
    assert runner.plans == []


def test_exit_code_without_check_is_one_error_event_in_json(runner: StubRunner) -> None:
    result = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--exit-code",
                                                "--output", "json"], env=ENV)
    assert result.exit_code == 2
    (event,) = valid_events(result.stdout)
    assert (event["type"], event["kind"], event["exit_code"]) == ("error", "usage", 2)


def test_pending_changes_exit_4_only_with_exit_code(runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    assert invoke(*COMMANDS["deploy"], "-P", "--check").exit_code == 0
    result = invoke(*COMMANDS["deploy"], "-P", "--check", "--exit-code")
    assert result.exit_code == 4
    assert "ERROR" not in result.output  # the summary said it
    assert ("--> Pending changes\n    10.0.0.1  app web: replace app-web-v1 with app-web-v2 "
            "(image registry:5000/app:v2)") in result.output


def test_a_real_run_with_its_changes_exits_0_even_with_exit_code_refused(
        runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    assert invoke(*COMMANDS["deploy"], "-P").exit_code == 0


def test_a_failure_beats_pending_changes(runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    runner.result.status = "failed"
    runner.result.failures.append(HostFailure("10.0.0.1", "Boot.", "boom"))
    result = invoke(*COMMANDS["deploy"], "-P", "--check", "--exit-code")
    assert result.exit_code == 1
    assert "Pending changes" not in result.output


def test_a_held_lock_in_check_mode_is_a_notice_not_an_error(runner: StubRunner) -> None:
    runner.result = pending()
    runner.result.lock_seen = "Locked by: Ann at 2026-12-06T10:00:00Z\nVersion: v1\nMessage: x"
    result = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--check",
                                                "--output", "json"], env=ENV)
    assert result.exit_code == 0
    summary = valid_events(result.stdout)[-1]
    assert summary["lock_held"] is False
    assert summary["lock"]["locked_by"] == "Ann"


def test_json_summary_carries_pending_per_host(runner: StubRunner) -> None:
    runner.result = pending(REPLACE, SECRET_FIELD)
    result = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--check", "--diff",
                                                "--exit-code", "--output", "json"], env=ENV)
    assert result.exit_code == 4
    events = valid_events(result.stdout)
    start, summary = events[0], events[-1]
    assert (start["check"], start["diff"], start["lock_host"]) == (True, True, None)
    assert "--check" in start["ansible_args"]
    assert summary["pending_changes"] is True
    assert summary["hosts"]["10.0.0.1"]["pending"] == [REPLACE, SECRET_FIELD]
    assert summary["exit_code"] == 4


def test_exit_4_is_no_error_in_the_summary(runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    result = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--check",
                                                "--exit-code", "--output", "json"], env=ENV)
    summary = valid_events(result.stdout)[-1]
    assert (summary["exit_code"], summary["error"], summary["failures"]) == (4, None, [])


DIFFERS = {"kind": "accessory", "name": "db", "action": "differs",
           "fields": [{"field": "port", "before": "5432:5432", "after": "5433:5432"}]}


def test_an_accessory_that_boot_leaves_alone_is_not_pending(runner: StubRunner) -> None:
    runner.result = pending(DIFFERS)
    argv = [*COMMANDS["accessory boot"], "--check", "--diff", "--exit-code"]
    result = invoke(*argv)
    assert result.exit_code == 0, result.output
    assert ("--> No changes would be made; these differ from the config\n"
            "    10.0.0.1  accessory db: differs\n") in result.output
    assert "port: 5432:5432 -> 5433:5432" in result.output
    events = valid_events(invoke(*argv, "--output", "json").stdout)
    assert (events[-1]["pending_changes"], events[-1]["exit_code"]) == (False, 0)
    assert events[-1]["hosts"]["10.0.0.1"]["pending"] == [DIFFERS]
    runner.result = pending(DIFFERS, REPLACE)
    assert invoke(*argv).exit_code == 4


def test_json_summary_of_a_clean_check_has_empty_pending(runner: StubRunner) -> None:
    result = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--check",
                                                "--exit-code", "--output", "json"], env=ENV)
    assert result.exit_code == 0
    summary = valid_events(result.stdout)[-1]
    assert (summary["pending_changes"], summary["hosts"]["10.0.0.1"]["pending"]) == (False, [])


def test_diff_lists_fields_and_a_secret_by_name_only(runner: StubRunner) -> None:
    runner.result = pending(SECRET_FIELD)
    result = invoke(*COMMANDS["accessory reboot"], "--check", "--diff")
    assert ("    10.0.0.1  accessory db: replace\n"
            "        port: 5432:5432 -> 5433:5432\n"
            "        env.DB_PASSWORD: changed (secret)\n") in result.output
    without_diff = invoke(*COMMANDS["accessory reboot"], "--check")
    assert "port: 5432:5432" not in without_diff.output


def test_quiet_keeps_the_pending_changes(runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    result = invoke(*COMMANDS["deploy"], "-P", "--check", "-q")
    assert "--> Pending changes" in result.output
    assert "--> Summary" not in result.output


def test_check_notices_the_hooks_that_do_not_run(runner: StubRunner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    shutil.copy(FIXTURES / "deploy_with_accessories.yml", tmp_path / "config" / "deploy.yml")
    hooks = tmp_path / ".kamal" / "hooks"
    hooks.mkdir(parents=True)
    for name in ("pre-deploy", "post-deploy"):
        (hooks / name).write_text("#!/bin/sh\ntouch ran-" + name + "\n")
        (hooks / name).chmod(0o755)
    monkeypatch.chdir(tmp_path)
    result = invoke("deploy", "-P", "--version", "v2", "--check")
    assert result.exit_code == 0, result.output
    assert "--check: hooks do not run in check mode: post-deploy, pre-deploy" in result.output
    assert not list(tmp_path.glob("ran-*"))


def test_for_check_keeps_every_other_part_in_order() -> None:
    acquire = PlaybookImport("lock_acquire.yml", ("lock",))
    play = HostsPlay("Boot", ())
    plan = Plan("deploy", (acquire, PlaybookImport("proxy_check.yml", ("proxy",)), play,
                           PlaybookImport("lock_release.yml", ("lock",))),
                lock_host="h1", hook_points=(HookPoint("pre-deploy", before=play),),
                notices=("first",))
    check = for_check(plan, diff=False, hooks=["pre-deploy"])
    assert check.imports == (PlaybookImport("lock_status.yml", ("lock",)),
                             PlaybookImport("proxy_check.yml", ("proxy",)), play)
    assert check.notices == ("first", "--check: hooks do not run in check mode: pre-deploy")
    assert check.ansible_playbook_args() == ["--check"]


def test_the_boot_group_pause_is_skipped_in_check_mode() -> None:
    play = HostsPlay("Boot", (), pause_after=5).as_yaml_data()
    assert play["tasks"][-1]["when"] == "not ansible_check_mode"


def test_outcomes_come_from_module_results_and_set_fact(capsys) -> None:
    result = RunResult()
    events = [
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Boot.", "res": {
            "kdeploy_outcome": {"changes": [REPLACE], "containers": {
                "before": [{"name": "app-web-v1", "image": "app:v1", "state": "running"}],
                "after": [{"name": "app-web-v2", "image": "app:v2", "state": "running",
                           "id": "dropped"}]}}}}},
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Report.", "res": {
            "ansible_facts": {"kdeploy_outcome": {"changes": [
                {"kind": "network", "name": "kamal", "action": "create", "extra": "dropped"}]}}}}},
        {"event": "runner_on_ok", "event_data": {"host": "h2", "task": "Other.", "res": {
            "changed": True}}},
        {"event": "runner_on_skipped", "event_data": {"host": "h2", "task": "Report.", "res": {
            "ansible_facts": {"kdeploy_outcome": {"changes": [REPLACE]}}}}},
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Read the deploy lock.",
                                                 "res": {"stdout": "Locked by: Ann\n"}}},
    ]
    for event in events:
        _collect(event, result, lambda event: None)
    assert result.outcomes == {"h1": [REPLACE, {"kind": "network", "name": "kamal",
                                                "action": "create"}]}
    assert result.containers["h1"]["after"] == [
        {"name": "app-web-v2", "image": "app:v2", "state": "running"}]
    assert result.lock_seen == "Locked by: Ann"
    merged = merge_results(result, pending(REPLACE, host="h2"))
    assert merged.outcomes["h2"] == [REPLACE]
    assert len(merged.outcomes["h1"]) == 2
    assert merged.lock_seen == "Locked by: Ann"
    assert json.dumps(merged.outcomes)  # plain data


def test_the_same_change_from_two_roles_is_listed_once() -> None:
    network = {"kind": "network", "name": "kamal", "action": "create"}
    result = RunResult()
    result.add_outcome("h1", {"changes": [network]})  # the proxy's boot
    result.add_outcome("h1", {"changes": [network, REPLACE]})  # the release
    assert result.outcomes == {"h1": [network, REPLACE]}


def test_a_real_run_with_diff_lists_what_it_changed(runner: StubRunner) -> None:
    runner.result = pending(REPLACE)
    result = invoke(*COMMANDS["deploy"], "-P", "--diff")
    assert result.exit_code == 0, result.output
    (plan,) = runner.plans
    assert (plan.check, plan.diff, plan.mode_args()) == (False, True, ["--diff"])
    assert "lock_acquire.yml" in playbooks(plan)
    assert "--> Changes\n    10.0.0.1  app web: replace app-web-v1 with app-web-v2" in result.output
    json_run = CliRunner().invoke(kdeploy_cli(), [*COMMANDS["deploy"], "-P", "--diff",
                                                  "--output", "json"], env=ENV)
    summary = valid_events(json_run.stdout)[-1]
    assert summary["hosts"]["10.0.0.1"]["changes"] == [REPLACE]
    assert "pending" not in summary["hosts"]["10.0.0.1"]
    assert summary["pending_changes"] is False


def test_a_secret_field_keeps_its_name_only_whatever_a_role_sent() -> None:
    result = RunResult()
    result.add_outcome("h1", {"changes": [{
        "kind": "accessory", "name": "db", "action": "replace",
        "fields": [{"field": "env.DB_PASSWORD", "secret": True, "before": "old-secret-value",
                    "after": "new-secret-value"},
                   {"field": "port", "before": "1:1", "after": "2:2", "noise": 1}]}]})
    (change,) = result.outcomes["h1"]
    assert change["fields"] == [{"field": "env.DB_PASSWORD", "secret": True},
                                {"field": "port", "before": "1:1", "after": "2:2"}]
    assert "secret-value" not in json.dumps(result.outcomes)


@pytest.mark.parametrize(("change", "line"), [
    (REPLACE, "app web: replace app-web-v1 with app-web-v2 (image registry:5000/app:v2)"),
    ({"kind": "proxy", "name": "kdeploy-proxy", "action": "replace", "from": "caddy:2",
      "to": "caddy:2", "image": "caddy:2"}, "proxy kdeploy-proxy: replace (image caddy:2)"),
    ({"kind": "app", "name": "web", "action": "create", "to": "app-web-v1", "image": "app:v1"},
     "app web: create app-web-v1 (image app:v1)"),
    ({"kind": "container", "name": "app-web-v0", "action": "remove"},
     "container app-web-v0: remove"),
    ({"kind": "proxy", "name": "p", "action": "replace", "from": "p:1", "to": "p:2"},
     "proxy p: replace p:1 with p:2"),
])
def test_one_line_per_change(change: dict[str, Any], line: str) -> None:
    from kdeploy.output import change_line
    assert change_line(change) == line
