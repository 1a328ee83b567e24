"""Hooks during `kdeploy setup` on the sandbox: Kamal's (a local executable) and x-kdeploy's
(a playbook over the generated inventory), in order, once; a failing hook stops the setup.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest
from project import Project, Run, address, app_container, example_config, lock_dirs, snapshot

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SETUP = ("setup", "-P", "--version", "v1")
LOG = "hooks.log"  # in the project dir, where hooks run
MARK = "/root/.kamal/hook-mark"  # the sandbox's SSH user is root; ~/.kamal is removed per test
# Kamal's hook: logs its name and the hosts it was given.
SHELL_HOOK = f'#!/bin/sh\necho "pre-deploy $KAMAL_HOSTS" >> {LOG}\n'
FAILING_HOOK = "#!/bin/sh\necho 'deploys are frozen'\nexit 1\n"


def playbook(log: Path) -> str:
    """The Ansible hook: a mark on every web host, and a line per host in the local log."""
    return f"""\
- name: Mark the web hosts before the deploy
  hosts: role_web
  gather_facts: false
  tasks:
    - name: Create the directory of the mark.
      ansible.builtin.file:
        path: "{Path(MARK).parent}"
        state: directory
        mode: "0755"
    - name: Write the mark.
      ansible.builtin.copy:
        dest: "{MARK}"
        content: "{{{{ kdeploy_version }}}}\\n"
        mode: "0644"
    - name: Log the host locally.
      ansible.builtin.shell: echo "playbook {{{{ inventory_hostname }}}}" >> {log}
      delegate_to: localhost
      changed_when: true
"""


def hooked_project(info: SandboxInfo, tmp_path: Path, hook: str = SHELL_HOOK) -> Project:
    config = example_config(info)
    config["x-kdeploy"] = {"hooks": {"pre-deploy": ["hooks/mark.yml"]}}
    project = Project.write(tmp_path, config)
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "mark.yml").write_text(playbook(tmp_path / LOG))
    hook_file = tmp_path / ".kamal" / "hooks" / "pre-deploy"
    hook_file.parent.mkdir(parents=True)
    hook_file.write_text(hook)
    hook_file.chmod(0o755)
    return project


def log_lines(project: Project) -> list[str]:
    log = project.directory / LOG
    return log.read_text().splitlines() if log.exists() else []


def mark(info: SandboxInfo, index: int) -> str | None:
    result = helpers.ssh(info, index, f"cat {MARK}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def assert_ok(run: Run) -> None:
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run


def test_kamal_hook_then_hook_playbook_run_once_before_the_app_boots(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = hooked_project(info, tmp_path)
    run = project.kdeploy(*SETUP)
    assert_ok(run)
    hosts = ",".join(address(info, index) for index in (1, 2, 3))
    first, *playbook = log_lines(project)
    assert first == f"pre-deploy {hosts}"
    assert sorted(playbook) == sorted(f"playbook {address(info, i)}" for i in (1, 2))
    assert [mark(info, index) for index in (1, 2, 3)] == ["v1", "v1", None]
    assert app_container("web") in {name for _, name in snapshot(info)}
    assert not [lock for index in (1, 2, 3) for lock in lock_dirs(info, index)]


def test_failing_pre_deploy_hook_stops_setup_and_releases_the_lock(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = hooked_project(info, tmp_path, FAILING_HOOK)
    run = project.kdeploy(*SETUP)
    assert run.returncode == 1, run
    assert "Hook `pre-deploy` failed:\n" in run.output, run
    assert ".kamal/hooks/pre-deploy stdout: deploys are frozen" in run.output, run
    assert "Traceback" not in run.output, run
    # Stopped before any container: no app, no accessory; the hook playbook never ran.
    assert snapshot(info) == {}
    assert [mark(info, index) for index in (1, 2, 3)] == [None, None, None]
    assert not [lock for index in (1, 2, 3) for lock in lock_dirs(info, index)]


def test_skip_hooks_runs_neither_kind(clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = hooked_project(info, tmp_path, FAILING_HOOK)
    run = project.kdeploy(*SETUP, "-H")
    assert_ok(run)
    assert log_lines(project) == []
    assert [mark(info, index) for index in (1, 2, 3)] == [None, None, None]
    assert app_container("web") in {name for _, name in snapshot(info)}
