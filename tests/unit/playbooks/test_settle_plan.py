"""The settle step's plan lists the settle task on exactly the interrupted run's hosts (offline)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from playbook_support import parse_listing, require_tool

from kdeploy import ansible_yaml
from kdeploy.config import load_config
from kdeploy.plan.settle import SETTLE_REPORT_TASK, build_settle_plan
from kdeploy.run.private_data_dir import write_private_data_dir

CONFIG = {
    "service": "app", "image": "app",
    "servers": {"web": ["10.0.0.1", "10.0.0.2"], "job": {"hosts": ["10.0.0.3"], "proxy": False}},
    "registry": {"server": "localhost:5000"}, "builder": {"arch": "amd64"},
    "deploy_timeout": 20, "drain_timeout": 10,
}


def test_the_settle_plan_runs_the_settle_task_on_the_runs_hosts_only(tmp_path: Path) -> None:
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text(yaml.safe_dump(CONFIG))
    config = load_config(config_file, version="v1", environ={})
    plan = build_settle_plan(config, ["10.0.0.1", "10.0.0.3"], elapsed=12.7)
    assert plan.extravars == {"settle_timeout": 60, "settle_since": 42,
                              "settle_prefixes": ["app-", "kamal-proxy", "kdeploy-proxy"]}
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    # The entry playbook has a name of its own: the part it imports is the collection's settle.
    entry = ansible_yaml.load((root / "project" / plan.playbook).read_text())
    assert plan.playbook != "settle.yml"
    assert entry == [{"ansible.builtin.import_playbook": "kdeploy.deploy.settle",
                      "tags": ["settle"]}]
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", "../inventory/hosts.yml", "-e",
         "@../env/extravars", plan.playbook, "--list-hosts", "--list-tasks",
         *plan.ansible_playbook_args()],
        cwd=root / "project", capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "project" / "ansible.cfg")})
    assert result.returncode == 0, result.stdout + result.stderr
    (play,) = parse_listing(result.stdout)
    assert sorted(play.hosts) == ["10.0.0.1", "10.0.0.3"]
    assert SETTLE_REPORT_TASK in [name.split(" : ")[-1] for name, _ in play.tasks]
