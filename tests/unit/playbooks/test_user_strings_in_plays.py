"""User strings in the generated directory: Ansible reads them back as literal text (offline).

A config, CLI values, a secret and a performer full of Jinja go through kdeploy's plans and its
private data dir; then the real `ansible-playbook` runs a local play over the generated
inventory and extra vars that writes out every variable each host sees, as a user's hook
playbook would. Each value must come back exactly as kdeploy built it, the generated entry
playbook must list its hosts literally, and no `lookup('pipe')` may run on this machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from playbook_support import require_tool

from kdeploy.config import Config, load_config
from kdeploy.host_contract.inventory import build_inventory
from kdeploy.host_contract.names import secret_env_var
from kdeploy.plan import Plan, build_deploy_plan, build_lock_plan
from kdeploy.run.hooked import hook_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.selection import CommandContext

HOSTILE_HOST = "h{{ 7*7 }}"
HOOK = "hooks/dump{{ 7*7 }}.yml"
# Writes the variables kdeploy_test_names names for the host, and the secrets' env vars.
DUMP_PLAYBOOK = """\
- name: Write out what each host sees
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the variables.
      ansible.builtin.copy:
        dest: "{{ kdeploy_test_out }}/{{ inventory_hostname | hash('sha1') }}.json"
        content: >-
          {{ {'host': inventory_hostname,
              'vars': dict(kdeploy_test_names[inventory_hostname]
                           | zip(query('ansible.builtin.vars',
                                       *kdeploy_test_names[inventory_hostname]))),
              'secrets': query('ansible.builtin.env', *kdeploy_test_secrets)} | to_json }}
        mode: "0600"
"""


def payloads(marker: Path) -> list[str]:
    return ["{{ 7*7 }}", "{% raw %}x{% endraw %}", "{% raw %}", "{# c #}",
            f"{{{{ lookup('pipe', 'touch {marker}') }}}}"]


@pytest.fixture
def marker(tmp_path: Path) -> Any:
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a lookup('pipe') ran on this machine"


def hostile_config(tmp_path: Path, marker: Path) -> Config:
    """A config with Jinja in every kind of value, a host name, a hook path and a secret."""
    p = payloads(marker)
    raw = {
        "service": "app",
        "image": "app",
        "servers": {
            "web": {"hosts": ["10.0.0.1", HOSTILE_HOST], "labels": {"L": p[0]}, "cmd": p[4],
                    "env": {"clear": {"W": p[3], "K{{ 7*7 }}": p[4]}, "secret": ["S1"]}},
            "job": {"hosts": [{"10.0.0.3": ["t{{ 7*7 }}"]}], "proxy": False},
        },
        "env": {"clear": {"ROOT": p[2]}, "tags": {"t{{ 7*7 }}": {"TAGGED": p[1]}}},
        "volumes": [f"/data/{p[0]}:/data"],
        "registry": {"server": "localhost:5000"},
        "builder": {"arch": "amd64"},
        "ssh": {"user": f"u{p[0]}", "proxy": f"{p[4]}@bastion"},
        "accessories": {"db": {"image": f"mysql:{p[1]}", "host": "10.0.0.1", "cmd": p[2],
                               "env": {"clear": {"A": p[4]}}, "labels": {"L": p[3]}}},
        "x-kdeploy": {"hooks": {"post-deploy": [HOOK]}},
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(raw))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(f'S1="{p[4]}"\n')
    (tmp_path / "hooks").mkdir()
    (tmp_path / HOOK).write_text(DUMP_PLAYBOOK)
    return load_config(tmp_path / "config" / "deploy.yml", version=p[0], environ={})


def run_playbook(root: Path, playbook: str, config: Config, names: dict[str, list[str]],
                 *args: str) -> subprocess.CompletedProcess[str]:
    """ansible-playbook in root/project as kdeploy runs it, every host local, secrets in env."""
    secrets = {secret_env_var(name): config.secrets[name] for name in config.secrets.names()}
    (root / "out").mkdir(exist_ok=True)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "kdeploy_test_out": str(root / "out"), "kdeploy_test_names": names,
             "kdeploy_test_secrets": sorted(secrets)}
    return subprocess.run(
        [require_tool("ansible-playbook"), "-i", "../inventory/hosts.yml",
         "-e", "@../env/extravars", "-e", json.dumps(local), playbook, *args],
        cwd=root / "project", capture_output=True, text=True, check=False,
        env={**os.environ, **secrets, "ANSIBLE_CONFIG": str(root / "project" / "ansible.cfg")})


def expected(config: Config, plan: Plan) -> dict[str, dict[str, Any]]:
    """What each host must see: kdeploy's own data, as JSON has it."""
    inventory = build_inventory(config)
    return json.loads(json.dumps({
        host: inventory["all_vars"] | host_vars | plan.extravars
        for host, host_vars in inventory["hosts"].items()}))


def seen(root: Path) -> dict[str, dict[str, Any]]:
    found = [json.loads(path.read_text()) for path in (root / "out").glob("*.json")]
    return {entry["host"]: entry for entry in found}


def assert_every_value_literal(root: Path, config: Config, plan: Plan, marker: Path) -> None:
    want = expected(config, plan)
    got = seen(root)
    assert sorted(got) == sorted(want) == sorted(config.all_hosts)
    for host, variables in want.items():
        assert got[host]["vars"] == variables, host
        assert got[host]["secrets"] == [payloads(marker)[4]]


def variable_names(config: Config, plan: Plan) -> dict[str, list[str]]:
    return {host: sorted(variables) for host, variables in expected(config, plan).items()}


def test_inventory_and_extra_vars_reach_plays_as_the_literal_text(tmp_path: Path,
                                                                  marker: Path) -> None:
    config = hostile_config(tmp_path, marker)
    p = payloads(marker)
    plan = build_lock_plan(CommandContext(config, performer=p[4] + p[2]), "acquire",
                           " ".join(p))
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    (root / "project" / "dump.yml").write_text(DUMP_PLAYBOOK)
    result = run_playbook(root, "dump.yml", config, variable_names(config, plan))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_every_value_literal(root, config, plan, marker)
    assert plan.extravars["lock_message"] == " ".join(p)


def test_a_hook_playbook_sees_the_same_literal_values(tmp_path: Path, marker: Path) -> None:
    # The hook plan imports the user's playbook (a path with braces) with the command's vars.
    config = hostile_config(tmp_path, marker)
    plan = build_deploy_plan(CommandContext(config, performer=payloads(marker)[3]))
    hook = hook_plan(config, plan, "post-deploy")
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, hook)
    result = run_playbook(root, hook.playbook, config, variable_names(config, hook))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_every_value_literal(root, config, hook, marker)


def test_entry_playbook_lists_user_hosts_literally(tmp_path: Path, marker: Path) -> None:
    config = hostile_config(tmp_path, marker)
    plan = build_deploy_plan(CommandContext(config, performer="kdeploy"))
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    result = run_playbook(root, plan.playbook, config, {}, "--list-hosts", "--list-tasks")
    assert result.returncode == 0, result.stdout + result.stderr
    # The boot play's hosts are the group's hosts as written; the listing shows the pattern and
    # each host on a line (parse_listing's host lines have no spaces, so read them here).
    pattern = re.escape(f"(10.0.0.1,{HOSTILE_HOST},10.0.0.3): Boot the app")
    assert re.search(rf"^  play #\d+ {pattern}\t", result.stdout, re.MULTILINE), result.stdout
    assert f"\n      {HOSTILE_HOST}\n" in result.stdout
