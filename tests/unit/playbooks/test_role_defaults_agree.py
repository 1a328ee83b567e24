"""A role used alone boots what `kdeploy deploy` boots for the equivalent deploy.yml.

kdeploy passes each role's settings through its inventory (`build_inventory`); a play of your own
passes only `kdeploy_service`, `kdeploy_image`, `kdeploy_version` and the role's knobs, and the
role derives the same settings from its defaults. Both are rendered here by the real
`ansible-playbook` (`-c local`, nothing touches Docker): the app role's `resolved` entry point, and
the accessory role's own defaults and vars. The settings must equal the inventory's entry, and
the container spec hash (what decides whether a running container is replaced) must be equal too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from playbook_support import REPO, collections_dir, require_tool

from kdeploy.config import load_config
from kdeploy.host_contract.inventory import build_inventory

HOST = "web1"
BASE = {
    "service": "app",
    "image": "app",
    "registry": {"server": "registry.example.com:5000", "username": "deploy",
                 "password": ["REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
}
STANDALONE = {"kdeploy_service": "app", "kdeploy_image": "registry.example.com:5000/app"}
# name: (servers or other config keys, destination, role, the standalone play's own variables)
APP_CASES: dict[str, tuple[dict[str, Any], str | None, str, dict[str, Any]]] = {
    "web_without_proxy": ({"servers": {"web": {"hosts": [HOST], "proxy": False}}}, None, "web",
                          {}),
    "with_a_destination": ({"servers": {"web": {"hosts": [HOST], "proxy": False}}}, "staging",
                           "web", {"kdeploy_destination": "staging"}),
    "job_with_labels_cmd_volumes_and_options": (
        {"servers": {"web": {"hosts": [HOST], "proxy": False},
                     "job": {"hosts": [HOST], "cmd": "bin/jobs --queue default",
                             "labels": {"team": "ops"}, "options": {"cpus": 2}}},
         "volumes": ["/srv/data:/data"]},
        None, "job",
        {"app_role": "job", "app_cmd": "bin/jobs --queue default", "app_labels": {"team": "ops"},
         "app_options": ["--cpus", "2"], "app_volumes": ["/srv/data:/data"]}),
    # Kamal's proxy for the web role: kamal-proxy's deploy arguments for the supported subset.
    "web_behind_kamal_proxy": ({"servers": {"web": {"hosts": [HOST]}},
                                "proxy": {"host": "app.example.com"}}, None, "web",
                               {"app_proxy": True, "app_proxy_hosts": ["app.example.com"]}),
    "web_behind_kamal_proxy_with_a_health_check": (
        {"servers": {"web": {"hosts": [HOST]}}, "deploy_timeout": 40, "drain_timeout": 20,
         "proxy": {"hosts": ["a.example.com", "b.example.com"], "app_port": 3000,
                   "healthcheck": {"path": "/health", "interval": 2, "timeout": 3}}},
        None, "web",
        {"app_proxy": True, "app_proxy_hosts": ["a.example.com", "b.example.com"],
         "app_proxy_app_port": 3000, "kdeploy_deploy_timeout": 40, "kdeploy_drain_timeout": 20,
         "app_proxy_healthcheck": {"path": "/health", "interval": 2, "timeout": 3}}),
}
ACCESSORY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cache_with_a_port": (
        {"image": "registry.example.com:5000/kdeploy-demo:v1", "host": HOST, "port": "8080:80"},
        {"accessory_image": "registry.example.com:5000/kdeploy-demo:v1",
         "accessory_ports": ["8080:80"]}),
    "db_with_env_cmd_labels_volumes_and_directories": (
        {"image": "postgres:16", "host": HOST, "port": "5432:5432", "cmd": "postgres -c fsync=off",
         "env": {"clear": {"POSTGRES_USER": "app"}, "secret": ["DB_PASSWORD"]},
         "labels": {"team": "data"}, "volumes": ["/srv/pg:/backup"],
         "directories": ["data:/var/lib/postgresql/data"]},
        {"accessory_image": "postgres:16", "accessory_ports": ["5432:5432"],
         "accessory_cmd": "postgres -c fsync=off",
         "accessory_env": {"clear": {"POSTGRES_USER": "app"},
                           "secret_env": {"DB_PASSWORD": "KDEPLOY_SECRET_DB_PASSWORD"}},
         "accessory_labels": {"team": "data"}, "accessory_volumes": ["/srv/pg:/backup"],
         "accessory_directories": [{"path": "app-acc/data",
                                    "mount": "/var/lib/postgresql/data"}]}),
}


def _inventory(directory: Path, config: dict[str, Any], destination: str | None = None
               ) -> dict[str, Any]:
    project = directory / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    if destination:
        (project / "config" / f"deploy.{destination}.yml").write_text("{}\n")
    (project / ".kamal").mkdir()
    (project / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=x\nDB_PASSWORD=y\n")
    loaded = load_config(project / "config" / "deploy.yml", destination, version="v1",
                         environ={})
    return build_inventory(loaded)


def _kdeploy_vars(inventory: dict[str, Any]) -> dict[str, Any]:
    """What kdeploy's inventory gives a play on HOST, minus the connection settings."""
    all_vars = {k: v for k, v in inventory["all_vars"].items() if not k.startswith("ansible_")}
    return all_vars | inventory["hosts"][HOST]


def _render(tmp_path: Path, plays: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Run every play in one `ansible-playbook -c local`; each writes `__rendered` as JSON.

    `plays` maps a play name to (its tasks' YAML, which set `__rendered`; the play's vars).
    """
    write = {"name": "Write what the role resolved.", "ansible.builtin.copy": {
        "content": "{{ __rendered | to_json }}", "dest": f"{tmp_path}/{{{{ __play }}}}.json",
        "mode": "0600"}}
    playbook = [{"name": name, "hosts": "all", "gather_facts": False,
                 "vars": play_vars | {"__play": name}, "tasks": [*yaml.safe_load(tasks), write]}
                for name, (tasks, play_vars) in plays.items()]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {HOST: {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env |= {"ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections")),
            "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([require_tool("ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                             str(tmp_path / "play.yml")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in plays}


APP_RESOLVED = """
- name: Resolve the app role.
  ansible.builtin.include_role:
    name: kdeploy.deploy.app
    tasks_from: resolved
    public: true
- name: Keep what it resolved.
  ansible.builtin.set_fact:
    __rendered:
      config: "{{ __app_config }}"
      spec_hash: "{{ __app_spec | to_json(sort_keys=true) | hash('sha1') }}"
"""

# No entry point of the accessory and proxy roles runs without Docker: their defaults and vars
# are loaded as they are (lazily templated), then the play's own knobs on top, as role defaults
# under play vars would yield.
ROLE_FILES = """
- name: Load the role's defaults and vars.
  ansible.builtin.include_vars:
    file: "{{ item }}"
  loop:
    - "{{ __collection }}/roles/{{ __role }}/defaults/main.yml"
    - "{{ __collection }}/roles/{{ __role }}/vars/main.yml"
- name: Put the play's own knobs above the role's defaults.
  ansible.builtin.set_fact:
    "{{ item.key }}": "{{ item.value }}"
  loop: "{{ __own | dict2items }}"
"""
ACCESSORY_RESOLVED = ROLE_FILES + """
- name: Keep what it resolved.
  ansible.builtin.set_fact:
    __rendered: {config: "{{ accessory_config }}", spec_hash: "{{ __accessory_spec_hash }}"}
"""
PROXY_RESOLVED = ROLE_FILES + """
- name: Keep what it resolved.
  ansible.builtin.set_fact:
    __rendered: "{{ proxy_config }}"
"""
PROXY_CONFIG = BASE | {"servers": {"web": {"hosts": [HOST]}}, "proxy": {"host": "app.example.com"}}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case's inventory entry and both renderings, from one ansible-playbook run."""
    tmp_path = tmp_path_factory.mktemp("agree")
    plays: dict[str, tuple[str, dict[str, Any]]] = {}
    expected: dict[str, Any] = {}
    for case, (config, destination, role, own_vars) in APP_CASES.items():
        inventory = _inventory(tmp_path / case, BASE | config, destination)
        expected[case] = inventory["all_vars"]["kdeploy_app_roles"][role]
        common = {"kdeploy_version": "v1", "app_role": role}
        plays[f"{case}-kdeploy"] = (APP_RESOLVED, _kdeploy_vars(inventory) | common)
        plays[f"{case}-alone"] = (APP_RESOLVED, STANDALONE | common | own_vars)
    for case, (accessory, own_vars) in ACCESSORY_CASES.items():
        inventory = _inventory(tmp_path / case, BASE | {"servers": {"web": {"hosts": [HOST]}},
                                                        "accessories": {"acc": accessory}})
        expected[case] = inventory["all_vars"]["kdeploy_accessories"]["acc"]
        common = {"accessory_name": "acc", "__collection": str(REPO), "__role": "accessory"}
        plays[f"{case}-kdeploy"] = (ACCESSORY_RESOLVED,
                                    _kdeploy_vars(inventory) | common | {"__own": {}})
        plays[f"{case}-alone"] = (ACCESSORY_RESOLVED,
                                  {"kdeploy_service": "app"} | common | {"__own": own_vars})
    inventory = _inventory(tmp_path / "proxy", PROXY_CONFIG)
    expected["proxy"] = inventory["hosts"][HOST]["kdeploy_proxy"]
    plays["proxy-alone"] = (PROXY_RESOLVED, {"__collection": str(REPO), "__role": "proxy",
                                             "__own": {}})
    return {"expected": expected, "rendered": _render(tmp_path, plays)}


@pytest.mark.parametrize("case", [*APP_CASES, *ACCESSORY_CASES])
def test_a_role_alone_resolves_what_kdeploy_passes(cases: dict[str, Any], case: str) -> None:
    alone, kdeploy = cases["rendered"][f"{case}-alone"], cases["rendered"][f"{case}-kdeploy"]
    assert alone["config"] == cases["expected"][case]
    assert alone["spec_hash"] == kdeploy["spec_hash"]


def test_proxy_alone_boots_the_kamal_proxy_kdeploy_describes(cases: dict[str, Any]) -> None:
    assert cases["rendered"]["proxy-alone"] == cases["expected"]["proxy"]
