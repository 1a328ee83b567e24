"""Hooks: Kamal's (local executables) and x-kdeploy's (playbooks), with a stubbed runner.

The stub stands in for `run_plan` (no Ansible, no hosts) and logs every run next to the hooks'
own log lines, so the tests pin the order of plays and hooks, their environment, which runs a
failure prevents and Kamal's failure message.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from click.testing import CliRunner
from context_helpers import context

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.config import load_config
from kdeploy.plan import HostsPlay, Plan, PlaybookImport, SetupOptions, build_setup_plan
from kdeploy.plan.model import HookPoint
from kdeploy.plan.split import split_plan
from kdeploy.run.kamal_hooks import HookContext, HookRun, hook_env, hook_failure, run_kamal_hook
from kdeploy.run.result import HostFailure, RunResult

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "configs" / \
    "deploy_founding_case_web_new.yml"
ALL_HOOKS = ("pre-connect", "docker-setup", "pre-deploy", "pre-app-boot", "post-app-boot",
             "post-deploy")
# A hook that logs its name and environment (one JSON line) to $HOOK_LOG.
LOGGING_HOOK = f"""#!{sys.executable}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["HOOK_LOG"], "a") as log:
    log.write(json.dumps({{"hook": name, "env": dict(os.environ)}}) + "\\n")
print("hello from " + name)
"""
FAILING_HOOK = "#!/bin/sh\necho 'build is red'\nexit 1\n"


# -- a project and a stubbed runner ------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(FIXTURE, tmp_path / "config" / "deploy.yml")
    (tmp_path / ".kamal" / "hooks").mkdir(parents=True)
    (tmp_path / ".kamal" / "secrets").write_text("MYSQL_ROOT_PASSWORD=rootsecret\nOTHER=x1234\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOK_LOG", str(tmp_path / "hooks.log"))
    return tmp_path


def add_hook(project: Path, name: str, text: str = LOGGING_HOOK, mode: int = 0o755) -> Path:
    hook = project / ".kamal" / "hooks" / name
    hook.write_text(text)
    hook.chmod(mode)
    return hook


def set_extension(project: Path, extension: dict[str, Any]) -> None:
    config_file = project / "config" / "deploy.yml"
    config = yaml.safe_load(config_file.read_text())
    config["x-kdeploy"] = extension
    config_file.write_text(yaml.safe_dump(config))


class StubRunner:
    """Stands in for `run_plan`: logs each run (its parts) to the hook log, then succeeds."""

    def __init__(self, log: Path, fail: str | None = None) -> None:
        self.log, self.fail = log, fail
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        with self.log.open("a") as log:
            log.write(json.dumps({"run": plan.command, "parts": parts(plan),
                                  "secrets": sorted(secrets)}) + "\n")
        if self.fail and self.fail in parts(plan):
            failure = HostFailure("10.0.0.1", "Boom.", "boom")
            return RunResult(status="failed", rc=2, failures=[failure])
        return RunResult(status="successful", stats={"ok": {"10.0.0.1": 1}})


def parts(plan: Plan) -> list[str]:
    names: list[str] = []
    for entry in plan.imports:
        if isinstance(entry, HostsPlay):
            # A task by the tags of what it boots (a boot task boots each host's own role).
            names += [tag for task in entry.tasks for tag in task.tags
                      if tag not in ("app", "accessory")]
        else:
            names.append(Path(entry.playbook).name)
    return names


def run(monkeypatch: pytest.MonkeyPatch, project: Path, *args: str,
        fail: str | None = None) -> tuple[Any, StubRunner, list[dict[str, Any]]]:
    stub = StubRunner(project / "hooks.log", fail)
    monkeypatch.setattr(execute_module, "run_plan", stub)
    importlib.import_module("kdeploy.cli.setup")
    result = CliRunner().invoke(cli_package.cli, ["setup", "-P", "--version", "v1234567890",
                                                  *args])
    log = project / "hooks.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, stub, lines


def steps(lines: list[dict[str, Any]]) -> list[str]:
    return [line["hook"] if "hook" in line else "run " + ",".join(line["parts"])
            for line in lines]


# -- where hooks run ---------------------------------------------------------------------------


def test_without_hooks_setup_stays_one_run(monkeypatch, project) -> None:
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 0, result.output
    assert steps(lines) == ["run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap,"
                            "proxy,accessory_db,app_web,app_web_new,lock_release.yml"]


def test_setup_runs_every_hook_in_kamals_order_and_splits_only_there(monkeypatch,
                                                                     project) -> None:
    for name in ALL_HOOKS:
        add_hook(project, name)
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 0, result.output
    assert steps(lines) == [
        "pre-connect",
        "run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap",
        "docker-setup", "pre-deploy",
        "run proxy,accessory_db",
        "pre-app-boot",
        "run app_web,app_web_new",
        "post-app-boot", "post-deploy",
        "run lock_release.yml",
    ]


def test_one_hook_cuts_the_run_once(monkeypatch, project) -> None:
    add_hook(project, "pre-deploy")
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 0, result.output
    assert steps(lines) == [
        "run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap",
        "pre-deploy",
        "run proxy,accessory_db,app_web,app_web_new,lock_release.yml",
    ]


def test_runs_the_tags_leave_empty_are_not_started(monkeypatch, project) -> None:
    for name in ("pre-deploy", "pre-app-boot"):
        add_hook(project, name)
    result, stub, lines = run(monkeypatch, project, "-r", "web_new")
    assert result.exit_code == 0, result.output
    # The accessory run is skipped by --skip-tags accessory: no ansible-playbook for it.
    assert steps(lines) == [
        "run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap", "pre-deploy",
        "pre-app-boot",
        # Only the selected role's boot: the boot plays are the selection's, as deploy's.
        "run app_web_new,lock_release.yml",
    ]
    assert {(p.tags, p.skip_tags, p.limit) for p in stub.plans} == {
        (("lock", "bootstrap", "app_web_new"), ("accessory",), "role_web_new")}


def test_skip_hooks_runs_none(monkeypatch, project) -> None:
    for name in ALL_HOOKS:
        add_hook(project, name)
    set_extension(project, {"hooks": {"pre-deploy": ["missing.yml"]}})
    result, _, lines = run(monkeypatch, project, "-H")
    assert result.exit_code == 0, result.output
    assert steps(lines) == ["run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap,"
                            "proxy,accessory_db,app_web,app_web_new,lock_release.yml"]


# -- what hooks see ----------------------------------------------------------------------------


def test_hook_environment_is_kamals(monkeypatch, project) -> None:
    for name in ALL_HOOKS:
        add_hook(project, name)
    monkeypatch.setenv("KAMAL_ROLES", "stale")  # Kamal only sets it with -r
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 0, result.output
    env = {line["hook"]: line["env"] for line in lines if "hook" in line}
    kamal = {hook: {k: v for k, v in values.items() if k.startswith("KAMAL_")}
             for hook, values in env.items()}
    common = {
        "KAMAL_PERFORMER": kamal["pre-connect"]["KAMAL_PERFORMER"],
        "KAMAL_VERSION": "v1234567890", "KAMAL_SERVICE_VERSION": "app@v123456",
        "KAMAL_SERVICE": "app", "KAMAL_HOSTS": "10.0.0.1,10.0.0.2", "KAMAL_COMMAND": "setup",
        "KAMAL_LOCK": "true", "KAMAL_ROLES": "stale",
    }
    for hook, values in kamal.items():
        assert values.pop("KAMAL_RECORDED_AT").endswith("Z")
        runtime = values.pop("KAMAL_RUNTIME", None)
        assert (runtime is not None) == (hook == "post-deploy")
        expected = dict(common, KAMAL_LOCK="false") if hook == "pre-connect" else common
        assert values == expected, hook
    # Secrets: only where Kamal passes them (`secrets: true`), every one of them.
    for hook, values in env.items():
        has_secrets = hook in ("pre-connect", "pre-deploy", "post-deploy")
        assert (values.get("MYSQL_ROOT_PASSWORD") == "rootsecret") == has_secrets, hook
        assert (values.get("OTHER") == "x1234") == has_secrets, hook
    assert "rootsecret" not in result.output


def test_filters_set_hosts_and_roles(monkeypatch, project) -> None:
    for name in ("pre-connect", "pre-app-boot"):
        add_hook(project, name)
    result, _, lines = run(monkeypatch, project, "-r", "web*")
    assert result.exit_code == 0, result.output
    env = {line["hook"]: line["env"] for line in lines if "hook" in line}
    assert env["pre-connect"]["KAMAL_ROLES"] == "web,web_new"
    assert env["pre-connect"]["KAMAL_HOSTS"] == "10.0.0.1,10.0.0.2"
    assert env["pre-app-boot"]["KAMAL_HOSTS"] == "10.0.0.1,10.0.0.2"


def test_hook_env_with_destination_and_extra_details(project) -> None:
    (project / "config" / "deploy.staging.yml").write_text("{}\n")
    (project / ".kamal" / "secrets.staging").write_text("S=stagingsecret\n")
    config = load_config(project / "config" / "deploy.yml", "staging", version="abc_uncommitted",
                         environ={})
    context = HookContext(config=config, command="setup", hosts=("10.0.0.1",), roles="web",
                          performer="ops@example.com")
    env = hook_env(context, "post-app-boot", lock=True, hosts=("10.0.0.2",), runtime=12)
    env.pop("KAMAL_RECORDED_AT")
    assert env == {
        "KAMAL_PERFORMER": "ops@example.com", "KAMAL_DESTINATION": "staging",
        "KAMAL_VERSION": "abc_uncommitted", "KAMAL_SERVICE_VERSION": "app@abc_uncommitted",
        "KAMAL_SERVICE": "app", "KAMAL_HOSTS": "10.0.0.2", "KAMAL_ROLES": "web",
        "KAMAL_LOCK": "true", "KAMAL_COMMAND": "setup", "KAMAL_RUNTIME": "12",
    }
    assert hook_env(context, "pre-deploy", lock=True)["S"] == "stagingsecret"


# -- failures ----------------------------------------------------------------------------------


def test_failing_pre_deploy_stops_before_any_container_and_releases_the_lock(monkeypatch,
                                                                             project) -> None:
    add_hook(project, "pre-deploy", FAILING_HOOK)
    add_hook(project, "post-deploy")
    result, stub, lines = run(monkeypatch, project)
    assert result.exit_code == 1
    assert ("ERROR: Hook `pre-deploy` failed:\n"
            ".kamal/hooks/pre-deploy exit status: 256\n"
            ".kamal/hooks/pre-deploy stdout: build is red\n"
            ".kamal/hooks/pre-deploy stderr: Nothing written\n") in result.output
    assert steps(lines) == ["run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap",
                            "run lock_release.yml"]
    assert stub.plans[-1].command == "setup_release_lock"


def test_failing_pre_connect_touches_nothing(monkeypatch, project) -> None:
    add_hook(project, "pre-connect", FAILING_HOOK)
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 1
    assert "Hook `pre-connect` failed:" in result.output
    assert lines == []  # not even a lock release: the lock was never taken


def test_a_failed_run_runs_no_later_hook(monkeypatch, project) -> None:
    for name in ("pre-deploy", "post-deploy"):
        add_hook(project, name)
    result, _, lines = run(monkeypatch, project, fail="app_web")
    assert result.exit_code == 1
    assert steps(lines) == [
        "run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap", "pre-deploy",
        "run proxy,accessory_db,app_web,app_web_new", "run lock_release.yml",
    ]


def test_an_existing_hook_that_is_not_executable_fails_as_in_kamal(monkeypatch,
                                                                    project) -> None:
    # Kamal checks only that the path exists, then `/usr/bin/env` cannot run it.
    add_hook(project, "pre-connect", mode=0o644)
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 1
    assert ("Hook `pre-connect` failed:\n.kamal/hooks/pre-connect exit status: 32256\n"
            ".kamal/hooks/pre-connect stdout: Nothing written\n"
            ".kamal/hooks/pre-connect stderr: /usr/bin/env: ") in result.output
    assert "Permission denied" in result.output
    assert lines == []


def test_failure_message_reports_raw_wait_status_like_sshkit() -> None:
    assert hook_failure("pre-deploy", HookRun(".kamal/hooks/pre-deploy", 3, "", "bad\n")) == (
        "Hook `pre-deploy` failed:\n"
        ".kamal/hooks/pre-deploy exit status: 768\n"
        ".kamal/hooks/pre-deploy stdout: Nothing written\n"
        ".kamal/hooks/pre-deploy stderr: bad")


# -- output ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "hooks_output", "announced", "shown"), [
    ((), None, True, False),
    (("-v",), None, True, True),
    (("-q",), None, False, False),
    ((), "verbose", True, True),
    ((), "quiet", False, False),
    ((), {"pre-deploy": "verbose"}, True, True),
    ((), {"post-deploy": "verbose"}, True, False),
    (("-q",), "verbose", False, False),  # the CLI flag wins
    (("-v",), "quiet", True, True),
])
def test_hook_output_follows_verbosity_and_hooks_output(monkeypatch, project, flags,
                                                       hooks_output, announced, shown) -> None:
    add_hook(project, "pre-deploy")
    if hooks_output is not None:
        config_file = project / "config" / "deploy.yml"
        config = yaml.safe_load(config_file.read_text())
        config["hooks_output"] = hooks_output
        config_file.write_text(yaml.safe_dump(config))
    result, _, _ = run(monkeypatch, project, *flags)
    assert result.exit_code == 0, result.output
    assert ("Running hook pre-deploy (.kamal/hooks/pre-deploy)" in result.output) == announced
    assert ("hello from pre-deploy" in result.output) == shown


def test_missing_hook_is_skipped(project) -> None:
    config = load_config(project / "config" / "deploy.yml", version="v1", environ={})
    said: list[str] = []
    context = HookContext(config=config, command="setup", hosts=("10.0.0.1",))
    assert run_kamal_hook(context, "pre-deploy", said.append, lock=True) is False
    add_hook(project, "pre-deploy")
    skipped = HookContext(config=config, command="setup", hosts=("10.0.0.1",), skip=True)
    assert run_kamal_hook(skipped, "pre-deploy", said.append, lock=True) is False
    assert said == []


# -- x-kdeploy hook playbooks ------------------------------------------------------------------


def test_hook_playbooks_run_after_kamals_hook_with_the_inventory_limit_and_secrets(
        monkeypatch, project) -> None:
    for path in ("hooks/check.yml", "hooks/warm.yml", "hooks/notify.yml"):
        (project / path).parent.mkdir(exist_ok=True)
        (project / path).write_text("- hosts: role_web\n  tasks: []\n")
    set_extension(project, {"hooks": {"pre-deploy": ["hooks/check.yml", "hooks/warm.yml"],
                                      "post-deploy": ["hooks/notify.yml"]}})
    add_hook(project, "pre-deploy")
    result, stub, lines = run(monkeypatch, project, "-r", "web")
    assert result.exit_code == 0, result.output
    assert steps(lines) == [
        "run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap",
        "pre-deploy", "run check.yml,warm.yml",
        "run proxy,accessory_db,app_web",
        "run notify.yml",
        "run lock_release.yml",
    ]
    hook_plans = [plan for plan in stub.plans if plan.command.startswith("hook_")]
    assert [plan.command for plan in hook_plans] == ["hook_pre_deploy", "hook_post_deploy"]
    check = hook_plans[0]
    assert check.imports == (PlaybookImport(str(project / "hooks/check.yml"), ()),
                             PlaybookImport(str(project / "hooks/warm.yml"), ()))
    # The user's plays carry none of kdeploy's tags; the host filter still applies.
    assert (check.tags, check.skip_tags, check.limit) == ((), (), "role_web")
    assert check.extravars["kdeploy_version"] == "v1234567890"
    assert [line["secrets"] for line in lines if line.get("parts") == ["check.yml", "warm.yml"]
            ] == [["KDEPLOY_SECRET_MYSQL_ROOT_PASSWORD", "KDEPLOY_SECRET_OTHER"]]
    assert "Running hook pre-deploy playbooks: hooks/check.yml, hooks/warm.yml" in result.output
    assert ("    hooks run: pre-deploy (.kamal/hooks/pre-deploy), pre-deploy (2 playbooks), "
            "post-deploy (1 playbook)\n") in result.output


def test_a_failing_hook_playbook_aborts_and_releases_the_lock(monkeypatch, project) -> None:
    (project / "check.yml").write_text("- hosts: all\n  tasks: []\n")
    set_extension(project, {"hooks": {"pre-deploy": ["check.yml"]}})
    result, _, lines = run(monkeypatch, project, fail="check.yml")
    assert result.exit_code == 1
    assert "ERROR: Hook `pre-deploy` failed:\n10.0.0.1 failed at 'Boom.': boom" in result.output
    assert steps(lines) == ["run accessory_destination_check.yml,proxy_check.yml,"
        "lock_acquire.yml,bootstrap",
                            "run check.yml", "run lock_release.yml"]


def test_a_missing_hook_playbook_is_a_config_error_before_anything_runs(monkeypatch,
                                                                       project) -> None:
    set_extension(project, {"hooks": {"post-deploy": ["nope.yml"]}})
    result, _, lines = run(monkeypatch, project)
    assert result.exit_code == 2
    assert "x-kdeploy/hooks/post-deploy/0: no playbook at " in result.output
    assert lines == []


# -- the split itself (pure) -------------------------------------------------------------------


def _plan(**options: Any) -> Plan:
    config = load_config(FIXTURE, version="v1", environ={})
    return build_setup_plan(context(config, **options), SetupOptions(skip_push=True))


def test_split_without_running_hooks_returns_the_plan_itself() -> None:
    plan = _plan()
    assert split_plan(plan, plan.hook_points, set()) == [plan]


def test_split_keeps_the_hosts_play_settings_in_every_piece() -> None:
    plan = _plan()
    pieces = [step for step in split_plan(plan, plan.hook_points, {"pre-app-boot"})
              if isinstance(step, Plan)]
    originals = {entry.name: entry for entry in plan.imports if isinstance(entry, HostsPlay)}
    plays = [entry for piece in pieces for entry in piece.imports
             if isinstance(entry, HostsPlay)]
    # Every hook of setup sits at a play boundary: no play is cut.
    assert [play.name for play in plays] == [
        "Set up the hosts", "Boot the proxy", "Boot the accessory db", "Boot the app"]
    assert [len(play.tasks) for play in plays] == [1, 1, 1, 1]
    assert all(play.as_yaml_data() | {"tasks": []}
               == originals[play.name].as_yaml_data() | {"tasks": []} for play in plays)
    assert all(piece.extravars == plan.extravars and piece.lock_host == plan.lock_host
               for piece in pieces)


def test_hook_points_place_post_deploy_inside_the_lock_as_kamal_setup() -> None:
    plan = _plan()
    steps_ = split_plan(plan, plan.hook_points, {"post-deploy"})
    assert [s.hook if isinstance(s, HookPoint) else parts(s) for s in steps_] == [
        ["accessory_destination_check.yml", "proxy_check.yml", "lock_acquire.yml", "bootstrap",
         "proxy", "accessory_db", "app_web", "app_web_new"],
        "post-deploy",
        ["lock_release.yml"],
    ]


@pytest.mark.parametrize(("args", "command", "subcommand"), [
    (("lock", "status"), "lock", "status"),
    (("lock", "acquire", "-m", "fixing"), "lock", "acquire"),
    (("audit",), "audit", None),
])
def test_other_commands_run_pre_connect_with_their_subcommand(monkeypatch, project, args,
                                                              command, subcommand) -> None:
    add_hook(project, "pre-connect")
    add_hook(project, "pre-deploy")  # not a hook of these commands
    stub = StubRunner(project / "hooks.log")
    monkeypatch.setattr(execute_module, "run_plan", stub)
    importlib.import_module("kdeploy.cli.lock")
    result = CliRunner().invoke(cli_package.cli, [*args, "--version", "v1"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (project / "hooks.log").read_text().splitlines()]
    assert [line.get("hook", "run") for line in lines] == ["pre-connect", "run"]
    env = lines[0]["env"]
    assert (env["KAMAL_COMMAND"], env.get("KAMAL_SUBCOMMAND")) == (command, subcommand)
    assert env["KAMAL_LOCK"] == "false"


# -- a signal while a hook runs ------------------------------------------------------------------


SLEEPING_HOOK = """#!/bin/sh
echo $$ > "$HOOK_LOG.pid"
exec sleep 60
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_hook_stops_the_hook_and_releases_the_lock(monkeypatch, project,
                                                                      signum) -> None:
    add_hook(project, "docker-setup", SLEEPING_HOOK)  # runs once the lock is held
    pid_file = Path(f"{project / 'hooks.log'}.pid")

    def signal_once_the_hook_runs() -> None:
        while not (pid_file.exists() and pid_file.read_text().strip()):
            time.sleep(0.02)
        os.kill(os.getpid(), signum)

    threading.Thread(target=signal_once_the_hook_runs, daemon=True).start()
    result, stub, _ = run(monkeypatch, project)
    assert result.exit_code == 128 + signum, result.output
    assert f"Interrupted by {signal.Signals(signum).name}" in result.output
    hook = int(pid_file.read_text())
    assert not psutil.pid_exists(hook) or psutil.Process(hook).status() == psutil.STATUS_ZOMBIE
    # The plays before the hook ran (the lock is held): only they ran, then the lock release.
    assert [plan.command for plan in stub.plans] == ["setup", "setup_release_lock"]


class DebugStub(StubRunner):
    """Each run says one `debug` line, as a user's hook playbook (or one of ours) would."""

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        on_event({"event": "playbook_on_play_start", "event_data": {"play": plan.command}})
        on_event({"event": "runner_on_ok", "event_data": {
            "host": "10.0.0.1", "play": plan.command, "task": "Say.",
            "resolved_action": "ansible.builtin.debug", "res": {"msg": f"said by {plan.command}"}}})
        on_event({"event": "playbook_on_stats", "event_data": {}})  # each run ends with it
        return super().__call__(config, plan, secrets, on_event, **kwargs)


def test_a_hook_playbooks_debug_lines_show_under_its_hook_and_ours_do_not(
        monkeypatch, project) -> None:
    (project / "hooks").mkdir(exist_ok=True)
    (project / "hooks/notify.yml").write_text("- hosts: role_web\n  tasks: []\n")
    set_extension(project, {"hooks": {"post-deploy": ["hooks/notify.yml"]}})
    stub = DebugStub(project / "hooks.log")
    monkeypatch.setattr(execute_module, "run_plan", stub)
    importlib.import_module("kdeploy.cli.setup")
    result = CliRunner().invoke(cli_package.cli, ["setup", "-P", "--version", "v1234567890"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("--> Running hook post-deploy playbooks: hooks/notify.yml")
    assert lines[start + 1:start + 3] == ["--> hook_post_deploy",
                                          "    10.0.0.1  | said by hook_post_deploy"]
    assert "said by setup" not in result.output
    assert "    hooks run: post-deploy (1 playbook)" in lines


def test_a_failing_hook_playbook_ends_with_the_hooks_error_not_a_deploy_outcome(
        monkeypatch, project) -> None:
    (project / "hooks").mkdir(exist_ok=True)
    (project / "hooks/check.yml").write_text("- hosts: role_web\n  tasks: []\n")
    set_extension(project, {"hooks": {"pre-deploy": ["hooks/check.yml"]}})
    result, _, _ = run(monkeypatch, project, fail="check.yml")
    assert result.exit_code == 1, result.output
    assert "--> Set up" not in result.output and "failed in" not in result.output
    assert result.output.rstrip().endswith("10.0.0.1 failed at 'Boom.': boom")
