"""The action plugins of kdeploy.deploy.release and kdeploy.deploy.accessory_boot share the choice
between the task's own arguments and those built from kdeploy's inventory (`from_inventory`),
and its failure (plugins/plugin_utils/inventory_args.py). test_release_args.py and
test_accessory_args.py prove what the builds make; here, that a task goes the way it asks and
that a play without kdeploy's inventory fails the task, naming what is missing.
"""

from __future__ import annotations

import importlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from playbook_support import collections_dir, require_tool

# As the action plugins import it (the collection's name, this working tree).
inventory_args = importlib.import_module(
    "ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args")


def never_built(inventory, host, run):
    raise AssertionError("built without from_inventory")


def test_without_from_inventory_the_tasks_arguments_go_as_they_are() -> None:
    task_args = {"name": "shop-web-v7", "pull": "always"}
    assert inventory_args.module_args(task_args, {}, never_built) == task_args


def test_with_from_inventory_the_build_makes_them_for_the_host() -> None:
    seen = []
    args = inventory_args.module_args(
        {"from_inventory": {"role": "web"}, "pull": "always"},
        {"inventory_hostname": "10.0.0.1", "kdeploy_app_roles": {}},
        lambda inventory, host, run: seen.append((inventory, host, run)) or {"built": True})
    assert args == {"built": True}
    assert seen == [({"inventory_hostname": "10.0.0.1", "kdeploy_app_roles": {}}, "10.0.0.1",
                     {"role": "web"})]


@pytest.mark.parametrize(("module", "run", "message"), [
    ("release", {"role": "web"},
     "localhost has no kdeploy_version: tasks_from release is for kdeploy's own inventory; a "
     "play of your own imports the role's main tasks"),
    ("accessory_boot", {"accessory": "db"},
     "localhost has no kdeploy inventory entry for the accessory db (kdeploy_accessories): "
     "tasks_from boot is for kdeploy's own inventory; a play of your own imports the role's "
     "main tasks"),
])
def test_a_play_without_kdeploys_inventory_fails_the_task_and_names_it(
        tmp_path: Path, module: str, run: dict[str, str], message: str) -> None:
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{f"kdeploy.deploy.{module}": {"from_inventory": run}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", "localhost,", str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
             "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections"))})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    # The plugin's own failed result, not an exception Ansible reports.
    assert f'FAILED! => {{"changed": false, "msg": "{message}"}}' in output
    assert "Traceback" not in output
