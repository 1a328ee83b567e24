"""The plan of `kdeploy build pull` / `build deliver`, and what its playbook lists (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from context_helpers import context

from kdeploy.config import Config, load_config
from kdeploy.errors import ConfigError, UsageError
from kdeploy.plan.model import PlaybookImport
from kdeploy.plan.pull import PULL_REPORT_TASK, build_pull_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.selection import CommandContext, Filters

WEB1, WEB2, WORKER, DB = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"
CONFIG: dict[str, Any] = {
    "service": "app", "image": "app",
    "servers": {"web": [WEB1, WEB2], "workers": {"hosts": [WORKER], "cmd": "bin/jobs"}},
    "registry": {"server": "registry.example.com", "username": ["REGISTRY_USER"],
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "accessories": {"db": {"image": "mysql:8.0", "host": DB}},
}


def make_config(tmp_path: Path, **changes: Any) -> Config:
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump({**CONFIG, **changes}))
    return load_config(config_file, version="v7", environ={})


def test_pull_runs_on_every_app_host_and_no_accessory_host(tmp_path: Path) -> None:
    plan = build_pull_plan(context(make_config(tmp_path), performer="ops@example.com"))
    assert plan.command == "build pull"
    assert plan.imports == (PlaybookImport("build_pull.yml", ("pull",)),)
    assert plan.limit == f"{WEB1},{WEB2},{WORKER}"
    assert plan.extravars == {"kdeploy_version": "v7", "kdeploy_performer": "ops@example.com"}
    assert plan.secret_names == ("REGISTRY_USER", "KAMAL_REGISTRY_PASSWORD")
    assert plan.playbook == "kdeploy_build_pull.yml"
    assert plan.report_task == PULL_REPORT_TASK
    assert plan.lock_host is None  # Kamal does not lock a pull


@pytest.mark.parametrize(("options", "limit"), [
    (Filters(roles="workers"), WORKER),
    (Filters(hosts=f"{WEB2},{DB}"), WEB2),
    (Filters(primary=True), WEB1),
])
def test_filters_narrow_the_app_hosts(tmp_path: Path, options: Filters, limit: str) -> None:
    filtered = CommandContext(make_config(tmp_path), options, performer="kdeploy")
    assert build_pull_plan(filtered).limit == limit


def test_deliver_is_the_same_pull_under_its_own_name(tmp_path: Path) -> None:
    plan = build_pull_plan(context(make_config(tmp_path)), command="build deliver")
    assert (plan.command, plan.playbook) == ("build deliver", "kdeploy_build_deliver.yml")
    with pytest.raises(UsageError, match="Unknown pull command"):
        build_pull_plan(context(make_config(tmp_path)), command="build dev")


def test_clear_registry_credentials_need_no_secret(tmp_path: Path) -> None:
    config = make_config(tmp_path, registry={"server": "r.example.com", "username": "u",
                                             "password": ["PASS"]})
    assert build_pull_plan(context(config)).secret_names == ("PASS",)


def test_unhappy_pulls(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    no_hosts = r"^No app hosts to pull registry\.example\.com/app:v7 on$"
    with pytest.raises(UsageError, match=no_hosts):
        build_pull_plan(context(config, hosts=DB))
    with pytest.raises(ConfigError, match="no version"):
        build_pull_plan(context(replace(config, version=None)))
    local = make_config(tmp_path, registry={"server": "localhost:5555"})
    with pytest.raises(UsageError, match="local registry"):
        build_pull_plan(context(local))


def test_playbook_lists_the_pull_on_the_limited_hosts(tmp_path: Path) -> None:
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        pytest.skip("ansible-playbook is not installed")
    config = make_config(tmp_path)
    plan = build_pull_plan(context(config, roles="web"))
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    result = subprocess.run(
        [str(ansible_playbook), "-i", "../inventory/hosts.yml", "-e", "@../env/extravars",
         plan.playbook, "--list-hosts", "--list-tasks", *plan.ansible_playbook_args()],
        cwd=root / "project", capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "project" / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listing = result.stdout
    # Ansible lists the hosts of a --limit in no fixed order.
    listed = re.search(r"hosts \(2\):\n      (\S+)\n      (\S+)\n", listing)
    assert listed is not None, listing
    assert set(listed.groups()) == {WEB1, WEB2}
    tasks = [line.strip() for line in listing.splitlines() if line.endswith("\tTAGS: [pull]")]
    # Ansible names a task of a collection's role `<role FQCN> : <task>`.
    assert tasks[1:] == [f"kdeploy.deploy.{role} : {task}\tTAGS: [pull]" for role, task in (
        ("pull", "Validate the role's arguments against meta/argument_specs.yml."),
        ("registry", "Validate the role's arguments against meta/argument_specs.yml."),
        ("registry", "Fail when the registry password is not in the environment."),
        ("registry", "Log in to the registry with docker login."),
        ("registry", "Remember that this host is logged in to the registry."),
        ("pull", "Read the host's first registry mirror."),
        ("pull", "Remember the host's first registry mirror."),
        ("pull",
         "Pull the image on one host per registry mirror first, to seed the mirrors."),
        ("pull", "Pull the image on the remaining hosts."),
    )]
