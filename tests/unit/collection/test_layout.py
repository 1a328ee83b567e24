"""The repository root is laid out as the collection kdeploy.deploy, and everything names it.

No symlinks (a Galaxy tarball, a wheel and a Windows checkout each treat them differently), no
role-local plugins (modules, module_utils and the lookup live once, in plugins/), and every
module, lookup and role that a task names is fully qualified, so it resolves the same in
kdeploy's runs and in a user's playbook.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.playbook.block import Block
from ansible.playbook.task import Task
from playbook_support import REPO

import kdeploy

# What a task may say besides its one action (Ansible's own task and block keywords).
KEYWORDS = set(Task.fattributes) | set(Block.fattributes) | {"local_action"}
PLAY_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")
ROLE_ACTIONS = ("ansible.builtin.import_role", "ansible.builtin.include_role")
LOOKUP = re.compile(r"\b(?:lookup|query|q)\(\s*['\"]([^'\"]+)['\"]")
TASK_FILES = sorted([*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml")])
PLAYBOOKS = sorted(REPO.glob("playbooks/*.yml"))


def git_files() -> list[tuple[str, str]]:
    """(mode, path) of every file git tracks."""
    listing = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
    return [(line.split()[0], line.split("\t", 1)[1]) for line in listing.splitlines()]


def tasks_in(items: Any) -> Iterator[dict[str, Any]]:
    """Every task of a task list, blocks opened (block, rescue, always)."""
    for item in items or []:
        yield item
        for section in ("block", "rescue", "always"):
            yield from tasks_in(item.get(section))


def all_tasks() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every task of the roles and part playbooks, with its file."""
    for path in TASK_FILES:
        for task in tasks_in(yaml.safe_load(path.read_text())):
            yield path, task
    for path in PLAYBOOKS:
        for play in yaml.safe_load(path.read_text()):
            for section in PLAY_TASK_LISTS:
                for task in tasks_in(play.get(section)):
                    yield path, task


def test_git_tracks_no_symlink() -> None:
    assert [path for mode, path in git_files() if mode == "120000"] == []


def test_plugins_live_in_plugins_not_in_roles() -> None:
    role_local = [path for _, path in git_files() if path.startswith("roles/")
                  and path.split("/")[2] in ("library", "module_utils", "lookup_plugins",
                                             "filter_plugins", "action_plugins")]
    assert role_local == []


def test_every_task_action_is_fully_qualified() -> None:
    short = sorted({f"{path.relative_to(REPO)}: {key}" for path, task in all_tasks()
                    for key in task if key not in KEYWORDS and not key.startswith("with_")
                    and key.count(".") < 2})
    assert short == []


def test_every_role_a_task_imports_is_one_of_the_collection() -> None:
    roles = {path.name for path in (REPO / "roles").iterdir() if path.is_dir()}
    named = {task[action]["name"] for _, task in all_tasks() for action in ROLE_ACTIONS
             if action in task}
    assert named, "no task imports a role: the walk over the task files is broken"
    assert sorted(named - {f"kdeploy.deploy.{role}" for role in roles}) == []


def test_every_lookup_is_fully_qualified() -> None:
    names = {name for path in [*TASK_FILES, *PLAYBOOKS, *REPO.glob("roles/*/vars/*.yml"),
                               *REPO.glob("roles/*/defaults/*.yml")]
             for name in LOOKUP.findall(path.read_text())}
    assert "kdeploy.deploy.erb" in names
    assert sorted(name for name in names if name.count(".") < 2) == []


@pytest.mark.parametrize("version", [kdeploy.__version__, importlib.metadata.version("kdeploy")],
                         ids=["package", "distribution"])
def test_the_collection_and_the_python_package_share_one_version(version: str) -> None:
    assert yaml.safe_load((REPO / "galaxy.yml").read_text())["version"] == version
