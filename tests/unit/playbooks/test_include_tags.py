"""The roles include their boot steps dynamically (a converged host skips them as one task).

--list-tasks cannot show what a dynamic include runs, so this runs the same construct for real on
localhost: a role imported with tags [app, app_<role>] (as the hosts play does) whose main.yml
includes a task file. The included tasks must run exactly when the import's tags are selected.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playbook_support import require_tool

ROLE_MAIN = """\
- name: Static step.
  ansible.builtin.debug: {msg: static-step}
- name: Dynamic step.
  ansible.builtin.include_tasks: inner.yml
  when: run_inner | default(true)
"""
INNER = """\
- name: Included step.
  ansible.builtin.debug: {msg: "included-step-{{ which }}"}
"""
PLAY = """\
- name: Hosts play
  hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - name: Boot a.
      ansible.builtin.import_role: {name: r}
      vars: {which: a}
      when: inventory_hostname in groups['role_a']
      tags: [app, app_a]
    - name: Boot b.
      ansible.builtin.import_role: {name: r}
      vars: {which: b}
      when: inventory_hostname in groups['role_b']
      tags: [app, app_b]
"""
INVENTORY = """\
all:
  hosts:
    h1: {ansible_connection: local}
  children:
    role_a: {hosts: {h1: {}}}
    role_b: {hosts: {}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("include_tags")
    tasks = root / "roles" / "r" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text(ROLE_MAIN)
    (tasks / "inner.yml").write_text(INNER)
    (root / "play.yml").write_text(PLAY)
    (root / "hosts.yml").write_text(INVENTORY)
    return root


def run(project: Path, *args: str) -> str:
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", "hosts.yml", "play.yml", *args],
        cwd=project, capture_output=True, text=True, check=False,
        env={"ANSIBLE_ROLES_PATH": str(project / "roles"), "PATH": "/usr/bin:/bin",
             "ANSIBLE_PYTHON_INTERPRETER": "auto_silent"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(("args", "ran"), [
    ((), {"included-step-a"}),
    (("--tags", "app_a"), {"included-step-a"}),
    (("--tags", "app"), {"included-step-a"}),
    (("--tags", "app_b"), set()),
    (("--tags", "bootstrap"), set()),
    (("--skip-tags", "app_a"), set()),
    (("--tags", "app_a", "-e", '{"run_inner": false}'), set()),
])
def test_included_tasks_run_exactly_when_the_import_is_selected(
    project: Path, args: tuple[str, ...], ran: set[str],
) -> None:
    output = run(project, *args)
    assert {step for step in ("included-step-a", "included-step-b") if step in output} == ran
    # The group guard keeps role b (no hosts in its group) off h1 even when selected.
    assert "included-step-b" not in output
