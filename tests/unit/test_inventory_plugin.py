"""kdeploy's runs read their inventory with Ansible's `yaml` plugin alone.

Ansible's default plugin list tries `auto` first, which parses the whole hosts.yml only to find
no `plugin:` key, so every run parsed (and deep-copied) the inventory twice. The real
`ansible-inventory`, in a run's environment, is the judge: which plugins look at the file, and
that the hosts and their variables still come through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from context_helpers import context

from kdeploy.config import load_config
from kdeploy.plan import build_deploy_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.run.runner import INVENTORY_PLUGIN, runner_envvars

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
BIN = Path(sys.executable).parent
# What -vvvvv prints when a plugin of the default list passes over a file it cannot read.
DECLINED = "declined parsing"


def _inventory(tmp_path: Path, with_run_env: bool) -> subprocess.CompletedProcess[str]:
    config = load_config(FIXTURES / "deploy_with_roles.yml", version="v2", environ={})
    directory = tmp_path / "pdd"
    write_private_data_dir(directory, config, build_deploy_plan(context(config)))
    env = {key: value for key, value in os.environ.items()
           if key != "ANSIBLE_INVENTORY_ENABLED"}
    env["ANSIBLE_CONFIG"] = str(directory / "project" / "ansible.cfg")
    if with_run_env:
        env.update(runner_envvars(directory))
    return subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(directory / "inventory"), "--list", "-vvvvv"],
        cwd=directory / "project", capture_output=True, text=True, check=True, timeout=120,
        env=env)


def test_a_run_reads_the_inventory_with_the_yaml_plugin_alone(tmp_path: Path) -> None:
    listed = _inventory(tmp_path, with_run_env=True)
    assert "inventory source with ansible_collections.ansible.builtin.plugins.inventory.yaml " \
           "plugin" in listed.stdout
    assert DECLINED not in listed.stdout
    inventory = json.loads(listed.stdout[listed.stdout.index("\n{") + 1:])
    assert inventory["role_web"]["hosts"] == ["10.0.3.1", "10.0.3.2"]
    # Still data: ansible-inventory shows an unsafe value wrapped.
    assert inventory["_meta"]["hostvars"]["10.0.3.1"]["kdeploy_service"] == {
        "__ansible_unsafe": "app"}


def test_without_it_the_default_plugins_look_first(tmp_path: Path) -> None:
    # The control: Ansible's own list, which the setting cuts short.
    listed = _inventory(tmp_path, with_run_env=False)
    assert DECLINED in listed.stdout
    assert INVENTORY_PLUGIN == "ansible.builtin.yaml"
