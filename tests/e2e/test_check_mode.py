"""`--check`, `--diff`, `--exit-code` on the sandbox (issue 15's acceptance).

web on hosts 1-2 behind the caddy proxy, job on host 3. A check changes nothing on any host
(containers with ids, states and images, images, networks, lock and app directories, files) and
never takes the lock; it names what a real run would do, per host, and exits 4 only with
`--exit-code` and changes pending. Every `--output json` line is validated by `Project.run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helpers
import pytest
from app_state import ROLES
from project import Project, address, app_container, example_config
from test_proxy_zero_downtime import proxy_project_config

from kdeploy.output import LOCK_TASK
from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

# What a check must leave exactly as it was, per host.
_STATE = ("docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}} {{.Image}}' | sort; "
          "docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort; "
          "docker network ls --format '{{.Name}}' | sort; "
          "ls -d ~/.kamal/lock-* 2>/dev/null; "
          "find ~/.kamal ~/.kdeploy -xdev -type f 2>/dev/null | sort | xargs -r md5sum")


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    return Project.write(tmp_path, proxy_project_config(clean_sandbox))


def host_state(info: SandboxInfo) -> dict[int, str]:
    """Every host's containers (id, name, state, image), images, networks, lock dirs, files."""
    return {index: helpers.ssh(info, index, _STATE).stdout for index in (1, 2, 3)}


def summary(run: Any) -> dict[str, Any]:
    events = run.events()
    assert events[-1]["type"] == "summary", events[-1]
    return events[-1]


def app_hosts(info: SandboxInfo) -> dict[str, str]:
    """{host address: role} of every app host."""
    return {address(info, index): role for role, hosts in ROLES.items() for index in hosts}


def assert_untouched(info: SandboxInfo, before: dict[int, str], run: Any) -> None:
    assert host_state(info) == before, run
    assert all("lock-" not in state for state in before.values())
    if "--output" in run.args:
        # The lock is not even tried: no task of the run takes it.
        assert not [event for event in run.events()
                    if event.get("task") in (LOCK_TASK, "Release the deploy lock.")], run


def test_check_names_the_pending_release_and_changes_nothing(clean_sandbox: SandboxInfo,
                                                             project: Project) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("setup", "-P", "--version", "v1")).returncode == 0, run
    before = host_state(info)
    check = ("deploy", "-P", "--version", "v2", "--check", "--diff", "--output", "json")

    run = project.kdeploy(*check)
    assert run.returncode == 0, run
    assert_untouched(info, before, run)
    result = summary(run)
    assert (result["check"], result["pending_changes"], result["exit_code"]) == (True, True, 0)
    assert result["lock_held"] is False
    run_start = run.events()[0]
    assert (run_start["check"], run_start["lock_host"]) == (True, None)
    for host, role in app_hosts(info).items():
        replaces = [change for change in result["hosts"][host]["pending"]
                    if change["action"] == "replace"]
        assert replaces == [{
            "kind": "app", "name": role, "action": "replace",
            "from": app_container(role, "v1"), "to": app_container(role, "v2"),
            "image": f"{info.registry}/{project.config['service']}:v2"}], result["hosts"][host]
        containers = result["hosts"][host]["containers"]
        assert [item["name"] for item in containers["before"]] == [app_container(role, "v1")]
        assert app_container(role, "v2") in [item["name"] for item in containers["after"]]
    assert not any("lock" in event.get("task", "").lower() and event.get("changed")
                   for event in run.events())

    run = project.kdeploy(*check, "--exit-code")
    assert run.returncode == 4, run
    assert summary(run)["exit_code"] == 4
    assert_untouched(info, before, run)

    run = project.kdeploy("deploy", "-P", "--version", "v2", "--check", "--diff", "--exit-code")
    assert run.returncode == 4, run
    assert "ERROR" not in run.stderr
    pending_lines = run.stdout.split("--> Pending changes\n", 1)[1].split("--> Summary", 1)[0]
    for host, role in app_hosts(info).items():
        assert (f"    {host}  app {role}: replace {app_container(role, 'v1')} with "
                f"{app_container(role, 'v2')}") in pending_lines, run
    assert_untouched(info, before, run)

    run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode == 0, run
    converged = host_state(info)
    run = project.kdeploy(*check, "--exit-code")
    assert run.returncode == 0, run
    result = summary(run)
    assert result["pending_changes"] is False
    assert all(result["hosts"][host]["pending"] == [] for host in app_hosts(info))
    run = project.kdeploy("deploy", "-P", "--version", "v2", "--check")
    assert run.returncode == 0, run
    assert "--> No changes: every host matches the config" in run.stdout
    assert_untouched(info, converged, run)


@pytest.mark.parametrize("command", [
    ("setup", "-P", "--version", "v2"),
    ("redeploy", "-P", "--version", "v2"),
    ("rollback", "v1"),
    ("proxy", "boot", "--version", "v2"),
    ("proxy", "reboot", "--version", "v2"),
    ("remove", "--version", "v2"),
], ids=" ".join)
def test_other_commands_check_without_changing_anything(clean_sandbox: SandboxInfo,
                                                        project: Project,
                                                        command: tuple[str, ...]) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("setup", "-P", "--version", "v1")).returncode == 0, run
    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    before = host_state(info)
    run = project.kdeploy(*command, "--check", "--diff", "--output", "json")
    assert run.returncode == 0, run
    assert_untouched(info, before, run)
    result = summary(run)
    assert result["check"] is True
    assert result["failures"] == []
    if command[0] == "rollback":
        for host, role in app_hosts(info).items():
            assert {"kind": "app", "name": role, "action": "replace",
                    "from": app_container(role, "v2"), "to": app_container(role, "v1"),
                    "image": f"{info.registry}/{project.config['service']}:v1"} in \
                result["hosts"][host]["pending"]
    if command[0] == "redeploy" or command[:2] == ("setup", "-P"):
        assert result["pending_changes"] is False, result  # v2 runs everywhere already
    if command[:2] == ("proxy", "reboot"):
        proxied = [address(info, index) for index in ROLES["web"]]
        for host in proxied:
            assert [change["action"] for change in result["hosts"][host]["pending"]
                    if change["kind"] == "proxy"] == ["replace"], result["hosts"][host]
    if command[:2] == ("proxy", "boot"):
        assert result["pending_changes"] is False, result  # running: left alone


def test_a_check_on_a_fresh_host_names_what_setup_would_create(clean_sandbox: SandboxInfo,
                                                                project: Project) -> None:
    info = clean_sandbox
    before = host_state(info)
    run = project.kdeploy("setup", "-P", "--version", "v1", "--check", "--output", "json")
    assert run.returncode == 0, run
    assert_untouched(info, before, run)
    result = summary(run)
    assert result["pending_changes"] is True
    for host, role in app_hosts(info).items():
        assert {"kind": "app", "name": role, "action": "create", "to": app_container(role, "v1"),
                "image": f"{info.registry}/{project.config['service']}:v1"} in \
            result["hosts"][host]["pending"], result["hosts"][host]
    for index in ROLES["web"]:
        kinds = {(change["kind"], change["action"])
                 for change in result["hosts"][address(info, index)]["pending"]}
        assert ("proxy", "create") in kinds, kinds


def test_a_config_error_under_json_is_one_error_event(clean_sandbox: SandboxInfo,
                                                      tmp_path: Path) -> None:
    config = example_config(clean_sandbox)
    config["servers"]["web"]["hosts"] = "not a list"
    project = Project.write(tmp_path, config)
    before = host_state(clean_sandbox)
    run = project.kdeploy("deploy", "-P", "--version", "v2", "--check", "--output", "json")
    assert run.returncode == 2, run
    (event,) = run.events()
    assert (event["type"], event["kind"], event["exit_code"]) == ("error", "config", 2)
    assert "Traceback" not in run.output
    assert host_state(clean_sandbox) == before
