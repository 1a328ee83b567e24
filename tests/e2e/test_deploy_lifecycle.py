"""The app lifecycle on the sandbox (issue 5's acceptance): setup v1, deploy v2, rollback v1,
remove; a release whose health check fails; boot groups; the lock shared with Kamal.

Roles `web` (hosts 1-2) and `job` (host 3), `proxy: false`, checked on the hosts: names, labels,
states, and the version each web container serves on /version.
"""

from __future__ import annotations

import re
from pathlib import Path

import helpers
import pytest
from app_state import ROLES, assert_runs, running_app
from project import (
    Project,
    address,
    app_container,
    audit_lines,
    example_config,
    lock_dirs,
)

from kdeploy.sandbox import SandboxHost, SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(clean_sandbox)
    config.pop("accessories")
    return Project.write(tmp_path, config)


def test_setup_deploy_rollback_remove(clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("setup", "-P", "--version", "v1")).returncode == 0, run
    assert_runs(info, "v1")

    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    assert_runs(info, "v2")
    for role, hosts in ROLES.items():
        for index in hosts:
            old = helpers.container(info, index, app_container(role, "v1"))
            assert old is not None and old.state == "exited"  # kept for a rollback
            images = helpers.ssh(info, index, "docker images --format '{{.Repository}}:{{.Tag}}'")
            assert f"{info.registry}/{SERVICE}:latest" in images.stdout.split()
            assert any(line.endswith(f"[{role}] Booted app version v2")
                       for line in audit_lines(info, index))
    assert lock_dirs(info, 1) == []

    assert (run := project.kdeploy("rollback", "v1")).returncode == 0, run
    assert_runs(info, "v1")
    assert helpers.container(info, 1, app_container("web", "v2")).state == "exited"

    run = project.kdeploy("remove", "-y", "--version", "v1")
    assert run.returncode == 0, run
    for index in (1, 2, 3):
        assert [c.name for c in helpers.containers(info, index)
                if c.labels.get("service") == SERVICE] == []
        assert helpers.ssh(info, index, f"ls ~/.kamal/apps/{SERVICE} 2>&1 || true").stdout.find(
            "No such file") >= 0


def test_a_deploy_of_the_running_version_changes_nothing(clean_sandbox: SandboxInfo,
                                                        project: Project) -> None:
    assert (run := project.kdeploy("deploy", "-P", "--version", "v1")).returncode == 0, run
    before = {i: helpers.container(clean_sandbox, i, app_container(r, "v1")).id
              for r, hosts in ROLES.items() for i in hosts}
    run = project.kdeploy("deploy", "-P", "--version", "v1", "--output", "json")
    assert run.returncode == 0, run
    after = {i: helpers.container(clean_sandbox, i, app_container(r, "v1")).id
             for r, hosts in ROLES.items() for i in hosts}
    assert before == after
    summary = run.events()[-1]["hosts"]
    assert {host: counts["changed"] for host, counts in summary.items()} == {
        address(clean_sandbox, 1): 2, address(clean_sandbox, 2): 0, address(clean_sandbox, 3): 0}
    # Each host was sent its release alone, the lock host the lock's two raw commands too: no
    # task it would only skip (the lock's role ends before the held-lock failure).
    assert {host: (counts["ok"], counts["skipped"]) for host, counts in summary.items()} == {
        address(clean_sandbox, 1): (3, 0), address(clean_sandbox, 2): (1, 0),
        address(clean_sandbox, 3): (1, 0)}


def test_a_deploy_authenticates_once_per_host(clean_sandbox: SandboxInfo,
                                             project: Project) -> None:
    # kdeploy opens each host's connection while ansible-playbook starts (run/warm_up.py); had
    # Ansible not found that master under its ControlPath, it would open a second one.
    assert (run := project.kdeploy("deploy", "-P", "--version", "v1")).returncode == 0, run
    before = [_logins(host) for host in clean_sandbox.hosts]
    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    assert [_logins(host) - count for host, count in zip(clean_sandbox.hosts, before,
                                                         strict=True)] == [1, 1, 1]


def test_no_host_waits_for_ansible_to_find_its_python(clean_sandbox: SandboxInfo,
                                                     project: Project) -> None:
    # The warm-up ran Ansible's interpreter discovery on each host and kept the answer as the
    # host's fact (run/interpreter_facts.py): at -vvv Ansible says when it discovers one itself.
    run = project.kdeploy("deploy", "-P", "--version", "v1", "-vvv")
    assert run.returncode == 0, run
    for host in clean_sandbox.hosts:
        assert f"<{host.address}> SSH: EXEC" in run.output  # Ansible's -vvv lines are there
        assert f"<{host.address}> Attempting python interpreter discovery" not in run.output
    assert_runs(clean_sandbox, "v1")


def _logins(host: SandboxHost) -> int:
    return (host.directory / "log" / "sshd.log").read_text().count("Accepted publickey")


def test_an_unhealthy_release_leaves_the_previous_one_serving(clean_sandbox: SandboxInfo,
                                                              project: Project) -> None:
    info = clean_sandbox
    # Long enough for a line every 5 s saying the time left (the release never gets healthy).
    project.config["deploy_timeout"] = 11
    project.save()
    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run

    run = project.kdeploy("deploy", "-P", "--version", "v3-unhealthy")
    assert run.returncode == 1, run
    assert_runs(info, "v2")
    for index in (1, 2, 3):
        names = [c.name for c in helpers.containers(info, index)]
        assert not [name for name in names if "v3" in name], names
    # While each web host waits, the time left; then the failure and the container's last
    # lines, under each web host's name.
    lines = run.output.splitlines()
    for index in ROLES["web"]:
        host = address(info, index)
        container = app_container("web", "v3-unhealthy")
        waiting = [number for number, line in enumerate(lines) if re.fullmatch(
            rf"    {re.escape(host)}  still waiting for {container} to be healthy "
            r"\((?:[1-9]|10) s left\)", line)]
        failed = next(number for number, line in enumerate(lines)
                      if line.startswith(f"    {host}  FAILED"))
        assert waiting and max(waiting) < failed, run.output
        assert f"{host}  | health check (exit 1)" in run.output
    assert "container not ready after 11 seconds (unhealthy)" in run.output
    assert "Traceback" not in run.output
    # The job role never started: the primary role's failure stopped the deploy.
    assert not any("v3" in line for line in audit_lines(info, 3))
    assert lock_dirs(info, 1) == []


def test_a_failing_boot_group_stops_the_later_groups(clean_sandbox: SandboxInfo,
                                                     project: Project) -> None:
    info = clean_sandbox
    project.config["deploy_timeout"] = 3
    project.config["boot"] = {"limit": 1, "wait": 1}
    project.save()
    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    booted = [line for line in audit_lines(info, 2) if line.endswith("Booted app version v2")]
    assert booted, "every group was booted"

    run = project.kdeploy("deploy", "-P", "--version", "v3-unhealthy")
    assert run.returncode == 1, run
    assert "group 1 of 3" in run.output and "group 2 of 3" not in run.output
    for index in (2, 3):
        assert not any("v3" in line for line in audit_lines(info, index))
    assert_runs(info, "v2")


def test_a_lock_held_by_kamal_stops_kdeploy_and_the_reverse(clean_sandbox: SandboxInfo,
                                                            project: Project) -> None:
    info = clean_sandbox
    run = project.kamal("lock", "acquire", "-m", "kamal holds it", "--version", "v1")
    assert run.returncode == 0, run
    run = project.kdeploy("deploy", "-P", "--version", "v1")
    assert run.returncode == 3, run
    assert "kamal holds it" in run.output
    assert running_app(info, 1) == {} and lock_dirs(info, 1) != []
    assert (run := project.kamal("lock", "release", "--version", "v1")).returncode == 0, run

    run = project.kdeploy("lock", "acquire", "-m", "kdeploy holds it", "--version", "v1")
    assert run.returncode == 0, run
    run = project.kamal("deploy", "-P", "--version", "v1")
    assert run.returncode != 0 and "Deploy lock already in place" in run.output, run
    assert (run := project.kdeploy("lock", "release")).returncode == 0, run
    assert running_app(info, 1) == {}


def test_rollback_to_a_version_a_host_lacks_touches_nothing(clean_sandbox: SandboxInfo,
                                                            project: Project) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("deploy", "-P", "--version", "v1")).returncode == 0, run
    run = project.kdeploy("rollback", "v3")
    assert run.returncode == 1, run
    assert "The app version 'v3' is not available as a container" in run.output
    assert_runs(info, "v1")
    assert not any("v3" in line for line in audit_lines(info, 1))
    assert lock_dirs(info, 1) == []


def test_a_version_missing_from_the_registry_fails_naming_the_image(
        clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("deploy", "-P", "--version", "v1")).returncode == 0, run
    run = project.kdeploy("deploy", "-P", "--version", "v9")
    assert run.returncode == 1, run
    assert f"docker pull {info.registry}/{SERVICE}:v9 failed: manifest" in run.output
    assert "Traceback" not in run.output
    assert_runs(info, "v1")
    assert lock_dirs(info, 1) == []
