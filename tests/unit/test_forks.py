"""A 1,000-host config loads, plans and writes an ansible.cfg whose forks stay bounded.

And Ansible reads that ansible.cfg's two settings about the controller's load: the forks, and how
often the main loop looks for results while tasks run.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from context_helpers import context

from kdeploy import ansible_yaml
from kdeploy.config import load_config
from kdeploy.plan import SetupOptions, build_deploy_plan, build_setup_plan
from kdeploy.run.private_data_dir import (
    INTERNAL_POLL_INTERVAL,
    MITOGEN_ENV,
    write_private_data_dir,
)

HOSTS = [f"10.{i // 250}.{i % 250}.1" for i in range(1000)]
BIN = Path(sys.executable).parent


def thousand_hosts(**extra: Any) -> dict[str, Any]:
    """Web on 700 hosts, workers on 300, a db on the first: 1,000 hosts in all."""
    return {
        "service": "app", "image": "app", "registry": {"server": "localhost:5000"},
        "builder": {"arch": "amd64"},
        "servers": {"web": HOSTS[:700], "workers": {"hosts": HOSTS[700:], "cmd": "bin/jobs"}},
        "accessories": {"db": {"image": "mysql:8", "host": HOSTS[0]}},
        **extra,
    }


def written_forks(tmp_path: Path, raw: dict[str, Any], command: str = "setup") -> int:
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(raw))
    config = load_config(config_file, version="v1", environ={})
    assert len(config.all_hosts) == 1000
    plan = (build_setup_plan(context(config), SetupOptions(skip_push=True)) if command == "setup"
            else build_deploy_plan(context(config)))
    write_private_data_dir(tmp_path / "pdd", config, plan)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(tmp_path / "pdd" / "project" / "ansible.cfg")
    inventory = ansible_yaml.load((tmp_path / "pdd" / "inventory" / "hosts.yml").read_text())
    assert len(inventory["all"]["hosts"]) == 1000
    return cfg.getint("defaults", "forks")


@pytest.fixture(autouse=True)
def no_mitogen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MITOGEN_ENV, raising=False)


@pytest.mark.parametrize("command", ["setup", "deploy"])
def test_a_thousand_hosts_fork_kamals_thirty(tmp_path: Path, command: str) -> None:
    assert written_forks(tmp_path, thousand_hosts(), command) == 30


@pytest.mark.parametrize(("extra", "forks"), [
    ({"x-kdeploy": {"forks": 200}}, 200),
    ({"sshkit": {"max_concurrent_starts": 10}}, 10),
])
def test_the_cap_follows_the_settings(tmp_path: Path, extra: dict[str, Any], forks: int) -> None:
    assert written_forks(tmp_path, thousand_hosts(**extra)) == forks


def test_ansible_reads_the_cap_and_the_poll_interval(tmp_path: Path) -> None:
    written_forks(tmp_path, thousand_hosts())
    project = tmp_path / "pdd" / "project"
    dump = subprocess.run(
        [str(BIN / "ansible-config"), "dump", "--only-changed", "--format", "yaml"],
        cwd=project, capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "ANSIBLE_CONFIG": str(project / "ansible.cfg")})
    # The settings are `{name, origin, value}` entries; plugin sections follow them.
    changed = {entry["name"]: entry["value"] for entry in yaml.safe_load(dump.stdout)
               if "name" in entry}
    assert changed["DEFAULT_FORKS"] == 30
    # Ansible's default is 0.001: a look for results every millisecond while a task runs.
    assert changed["DEFAULT_INTERNAL_POLL_INTERVAL"] == INTERNAL_POLL_INTERVAL == 0.01
