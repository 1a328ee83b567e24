"""`kdeploy setup` when things go wrong: the exit code, one clear message, nothing half-done.

Exit codes (README.md): 1 a host failed or was unreachable, 2 usage or config error, 3 lock held.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helpers
import pytest
import yaml
from project import (
    BIN,
    Project,
    Run,
    accessory_container,
    address,
    app_container,
    example_config,
    founding_config,
    free_address,
    lock_dirs,
    running_names,
    snapshot,
)

from kdeploy import sandbox as api
from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SETUP = ("setup", "-P", "--version", "v1")


def assert_fails(run: Run, exit_code: int, *messages: str) -> None:
    """The run exited with `exit_code`, said every message and printed no traceback."""
    assert run.returncode == exit_code, run
    for message in messages:
        assert message in run.output, run
    assert "Traceback" not in run.output, run


def summary_lines(run: Run) -> dict[str, str]:
    """The human summary's per-host lines: {host: "ok=… changed=… failed=…"}."""
    lines = run.stdout.split("--> Summary", 1)[-1].splitlines()
    return {parts[0]: parts[1] for line in lines
            if len(parts := line.split(None, 1)) == 2 and "=" in parts[1]
            and not line.strip().startswith("finished")}


def assert_untouched(info: SandboxInfo) -> None:
    """No container and no lock on any host: the command stopped before touching them."""
    assert snapshot(info) == {}
    assert not [lock for host in (1, 2, 3) for lock in lock_dirs(info, host)]


def test_unreachable_host_fails_the_run_after_setting_up_the_others(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    nowhere = free_address(info)
    config = example_config(info)
    config["servers"]["job"]["hosts"].append(nowhere)
    run = Project.write(tmp_path, config).kdeploy(*SETUP)

    assert_fails(run, 1)
    error = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error) == 1 and nowhere in error[0] and "unreachable" in error[0], run
    summary = summary_lines(run)
    assert "unreachable=1" in summary[nowhere], run
    for host in (1, 2, 3):
        assert "failed=0 unreachable=0" in summary[address(info, host)], run
    assert running_names(info, 1) == {app_container("web"), accessory_container("db")}
    assert running_names(info, 2) == {app_container("web")}
    assert running_names(info, 3) == {app_container("job")}
    # The failed run released its lock (host 1 is the primary host).
    assert lock_dirs(info, 1) == []


def _unknown_role(config: dict[str, Any]) -> None:
    pass


def _empty_role(config: dict[str, Any]) -> None:
    config["servers"]["empty"] = {"hosts": []}


def _allowed_empty_role(config: dict[str, Any]) -> None:
    _empty_role(config)
    config["allow_empty_roles"] = True


@pytest.mark.parametrize(("change", "args", "message"), [
    (_unknown_role, ("-r", "nope"), "ERROR: No --roles match for nope"),
    (_empty_role, (), "ERROR: config/deploy.yml: No servers specified for the empty role. "
                      "You can ignore this with allow_empty_roles: true"),
    (_allowed_empty_role, ("-r", "empty"), "ERROR: No hosts to set up for --roles empty"),
], ids=["unknown-role", "role-without-hosts", "allowed-empty-role-selected"])
def test_usage_and_config_errors_exit_2_before_touching_a_host(
        clean_sandbox: SandboxInfo, tmp_path: Path,
        change: Callable[[dict[str, Any]], None], args: tuple[str, ...], message: str) -> None:
    config = founding_config(clean_sandbox)
    change(config)
    run = Project.write(tmp_path, config).kdeploy(*SETUP, *args)
    assert_fails(run, 2, message)
    assert len([line for line in run.output.splitlines() if line.startswith("ERROR")]) == 1
    assert_untouched(clean_sandbox)


def test_a_role_named_like_a_path_exits_2_when_the_config_loads(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    config = founding_config(info)
    # Unchecked, its env file would land in ~/.kamal/apps/kdeploy-demo/env/x.env.
    config["servers"]["../x"] = {"hosts": [address(info, 2)], "proxy": False}
    run = Project.write(tmp_path, config).kdeploy(*SETUP)

    assert_fails(run, 2, "ERROR: config/deploy.yml: servers/../x: Invalid role name: '../x'.")
    assert len([line for line in run.output.splitlines() if line.startswith("ERROR")]) == 1
    assert_untouched(info)
    for host in (1, 2, 3):
        assert helpers.ssh(info, host, "ls -A ~/.kamal 2>/dev/null || true").stdout == ""


def test_lock_held_by_kamal_stops_setup_before_any_host_is_touched(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    project = Project.write(tmp_path, founding_config(clean_sandbox))
    acquired = project.kamal("lock", "acquire", "-m", "held by kamal", "--version", "v1")
    assert acquired.returncode == 0, acquired
    try:
        run = project.kdeploy(*SETUP)
        assert_fails(run, 3, "Deploy lock already in place", "Message: held by kamal",
                     address(clean_sandbox, 1))
        assert snapshot(clean_sandbox) == {}
        # kdeploy left Kamal's lock where it was.
        assert "held by kamal" in project.kamal("lock", "status", "--version", "v1").stdout
    finally:
        released = project.kamal("lock", "release", "--version", "v1")
    assert released.returncode == 0 and "Released the deploy lock" in released.output, released


def test_lock_held_by_kdeploy_is_seen_by_kamal_and_by_the_next_setup(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    project = Project.write(tmp_path / "app", founding_config(clean_sandbox))
    exported = tmp_path / "exported"
    assert project.kdeploy("export", str(exported), *SETUP[1:]).returncode == 0
    # The lock part of the exported setup, on its own: what a kdeploy run holds while it works
    # (the part playbook of the collection the export carries).
    acquire = project.run([str(BIN / "ansible-playbook"), "-i", "../inventory/hosts.yml",
                           "-e", "@../env/extravars", "kdeploy.deploy.lock_acquire"],
                          cwd=exported / "project", env=dict(os.environ))
    assert acquire.returncode == 0, acquire
    assert lock_dirs(clean_sandbox, 1) == ["/root/.kamal/lock-kdeploy-demo"]

    status = project.kamal("lock", "status", "--version", "v1")
    assert status.returncode == 0, status
    assert "Locked by:" in status.stdout and "Automatic deploy lock" in status.stdout, status
    run = project.kdeploy(*SETUP)
    assert_fails(run, 3, "Deploy lock already in place", "Automatic deploy lock")
    assert snapshot(clean_sandbox) == {}
    assert lock_dirs(clean_sandbox, 1) == ["/root/.kamal/lock-kdeploy-demo"]


def test_docker_missing_and_not_installable_fails_that_host_only(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    api.disable_docker(info.host(3))
    try:
        run = project.kdeploy(*SETUP)
    finally:
        api.restore_docker(info.host(3))
    assert_fails(run, 1, f"Docker is not installed on {address(info, 3)}")
    summary = summary_lines(run)
    assert "failed=1" in summary[address(info, 3)], run
    for host in (1, 2):
        assert "failed=0 unreachable=0" in summary[address(info, host)], run
    assert running_names(info, 1) == {app_container("web"), accessory_container("db")}
    assert running_names(info, 2) == {app_container("web")}
    assert lock_dirs(info, 1) == []


def test_the_only_web_host_failing_before_the_boot_leaves_the_job_role_booting(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    # The app boots as deploy's does, behind Kamal's role barrier: job waits for the first web
    # release. Here no web release comes (its only host failed in bootstrap and left the run),
    # so the barrier must not hold job: it boots, and the run fails for host 1 only.
    info = clean_sandbox
    config = example_config(info)
    config["servers"]["web"]["hosts"] = [address(info, 1)]
    project = Project.write(tmp_path, config)
    api.disable_docker(info.host(1))
    try:
        run = project.kdeploy(*SETUP, timeout=180)
    finally:
        api.restore_docker(info.host(1))
    assert_fails(run, 1, f"Docker is not installed on {address(info, 1)}")
    summary = summary_lines(run)
    assert "failed=1" in summary[address(info, 1)], run
    assert "failed=0 unreachable=0" in summary[address(info, 3)], run
    assert running_names(info, 3) == {app_container("job")}
    assert running_names(info, 1) == set()
    assert lock_dirs(info, 1) == []


# The tasks that install or start Docker (roles/bootstrap/tasks/install.yml).
INSTALL_TASKS = {task["name"] for task in yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "roles" / "bootstrap" / "tasks" / "install.yml"
     ).read_text())}


def test_stopped_docker_is_named_never_started_and_the_other_hosts_are_set_up(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    stopped = address(info, 3)
    project = Project.write(tmp_path, example_config(info))
    api.stop_docker(info.host(3))
    try:
        # dockerd removes its socket when it stops; one killed hard leaves it, refusing.
        socket_left = (info.host(3).directory / "run" / "docker.sock").exists()
        run = project.kdeploy(*SETUP, "--output", "json")
        # Nothing started the daemon again: no install, no `systemctl start`, no restart.
        still_stopped = not api.current(info.host(3)).dockerd_alive
    finally:
        api.restore_docker(info.host(3))

    assert_fails(run, 1, f"Docker is installed but not running on {stopped}: found ")
    assert still_stopped, run
    error = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error) == 1 and stopped in error[0] and "/dockerd" in error[0], run
    events = run.events()
    failed = [e for e in events if e["type"] == "host_result" and e["status"] == "failed"
              and e["host"] == stopped]
    assert [e["task"] for e in failed] == ["Fail because Docker is installed but not running."]
    socket_state = "refuses connections" if socket_left else "is missing"
    assert f"unix:///var/run/docker.sock {socket_state}" in failed[0]["msg"], failed
    assert not [e for e in events if e.get("host") == stopped and e.get("task") in INSTALL_TASKS]
    assert events[-1]["hosts"][stopped]["failed"] == 1, events[-1]
    for host in (1, 2):
        counts = events[-1]["hosts"][address(info, host)]
        assert (counts["failed"], counts["unreachable"]) == (0, 0), events[-1]
    # The other hosts were set up, the lock released, and nothing ever ran on host 3.
    assert running_names(info, 1) == {app_container("web"), accessory_container("db")}
    assert running_names(info, 2) == {app_container("web")}
    assert running_names(info, 3) == set()
    assert lock_dirs(info, 1) == []
