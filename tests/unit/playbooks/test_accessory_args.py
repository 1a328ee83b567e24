"""kdeploy's plays and the accessory role's variables give kdeploy.deploy.accessory_boot the
same arguments.

roles/accessory/tasks/boot.yml (kdeploy's own plays) lets the action plugin build the module's
arguments in Python (plugins/plugin_utils/accessory_args.py); boot_from_vars.yml, which the
role's main tasks import, templates them from vars/main.yml. The container's spec label is the
hash of the spec, so any difference would make a converged accessory look differing after an
upgrade of kdeploy. Here Ansible's own Templar renders boot_from_vars.yml's task over kdeploy's
inventory, and the result is compared with the plugin's.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from playbook_support import REPO, _load_file

accessory_args = _load_file(
    "ansible_collections.kdeploy.deploy.plugins.plugin_utils.accessory_args",
    REPO / "plugins" / "plugin_utils" / "accessory_args.py")
# The one exception of both builds, imported as they import it.
inventory_args = importlib.import_module(
    "ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args")

ROLE = REPO / "roles" / "accessory"
OMIT = "__omit_place_holder__kdeploy"
HOST = "10.0.0.1"
CONFIG: dict[str, Any] = {
    "name": "db", "service_name": "shop-db", "image": "mysql:8.0", "registry": None,
    "cmd": "mysqld --character-set-server=utf8mb4", "published_ports": ["3306:3306"],
    "labels": {"service": "shop-db", "tier": 2, "owner": "Zoë", "kdeploy.destination": "eu"},
    "env": {"MYSQL_DATABASE": "shop", "WORKERS": 4}, "secret_env": {"MYSQL_PASSWORD": "KD_DB_PW"},
    "env_file": ".kamal/apps/shop-eu/env/accessories/db.env", "volumes": ["data:/var/lib/mysql"],
    "directories": [{"path": "shop-db/data", "mount": "/data", "mode": "0700", "owner": None},
                    {"path": "/srv/conf", "mount": "/conf", "options": "ro", "mode": None,
                     "owner": "999:999"}],
    "files": [{"src": "init.sql", "path": "shop-db/init.sql", "mount": "/init.sql",
               "mode": None, "owner": None}],
    "network": "kamal", "log_driver": None, "log_options": {"max-size": "10m"},
    "docker_args": ["--shm-size", "1g"], "restart_policy": "unless-stopped",
}
REGISTRY = {"server": "registry.example:5000", "username": "deployer", "username_env": None,
            "password_env": "KD_REGISTRY_PASSWORD"}
INVENTORY = {"kdeploy_service": "shop", "kdeploy_destination": "eu",
             "kdeploy_service_with_destination": "shop-eu", "kdeploy_performer": "me@example.com",
             "kdeploy_registry": REGISTRY, "kdeploy_accessories": {"db": CONFIG}}


@functools.cache
def plugin_loader() -> None:
    """Ansible's plugins, once: the env lookup of the secret env and the registry login."""
    init_plugin_loader()


def templated_args(inventory: dict[str, Any]) -> dict[str, Any]:
    """boot_from_vars.yml's module arguments, as Ansible templates them for `db` on HOST."""
    plugin_loader()
    loader = DataLoader()
    variables = dict(loader.load_from_file(str(ROLE / "defaults" / "main.yml"),
                                           trusted_as_template=True))
    variables.update(loader.load_from_file(str(ROLE / "vars" / "main.yml"),
                                           trusted_as_template=True))
    variables.update(inventory, accessory_name="db", inventory_hostname=HOST, omit=OMIT)
    tasks = loader.load_from_file(str(ROLE / "tasks" / "boot_from_vars.yml"),
                                  trusted_as_template=True)
    [task] = [task for task in tasks if "kdeploy.deploy.accessory_boot" in task]
    args = Templar(loader=loader, variables=variables).template(
        task["kdeploy.deploy.accessory_boot"])
    return {key: value for key, value in args.items() if value != OMIT}


def plugin_args(inventory: dict[str, Any]) -> dict[str, Any]:
    """boot.yml's from_inventory, as Ansible would template it, through the plugin's choice."""
    run = {"accessory": "db", "destination": inventory["kdeploy_destination"],
           "performer": inventory["kdeploy_performer"],
           "service_with_destination": inventory["kdeploy_service_with_destination"],
           "spec_label": "kdeploy.spec", "network": "kamal", "deploy_timeout": 30,
           "docker_host": "unix:///var/run/docker.sock"}
    return inventory_args.module_args({"from_inventory": run},
                                      dict(inventory, inventory_hostname=HOST),
                                      accessory_args.accessory_args)


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KD_DB_PW", "db-secret")
    monkeypatch.setenv("KD_REGISTRY_PASSWORD", "registry-secret")


def test_the_plugin_gives_the_module_the_arguments_the_role_templates() -> None:
    templated = templated_args(INVENTORY)
    built = plugin_args(INVENTORY)
    assert built == templated
    assert built["env_secrets"] == {"MYSQL_PASSWORD": "db-secret"}
    assert built["registry"]["password"] == "registry-secret"
    assert built["audit"] == {"log": ".kamal/shop-eu-audit.log", "tags": ["me@example.com", "eu"]}


def test_an_accessorys_own_registry_and_no_destination_agree_too() -> None:
    own = dict(CONFIG, registry={"server": None, "username": "hub-user",
                                 "username_env": "KD_REGISTRY_PASSWORD",
                                 "password_env": "KD_DB_PW"},
               log_options={}, docker_args=[], cmd=None, directories=[], files=[])
    inventory = dict(INVENTORY, kdeploy_destination="", kdeploy_service_with_destination="shop",
                     kdeploy_accessories={"db": own})
    assert plugin_args(inventory) == templated_args(inventory)
    assert plugin_args(inventory)["spec"]["docker"] == {}


def test_without_a_registry_password_there_is_no_login() -> None:
    inventory = dict(INVENTORY, kdeploy_registry=dict(REGISTRY, password_env=None))
    assert "registry" not in plugin_args(inventory)
    assert plugin_args(inventory) == templated_args(inventory)


def test_a_play_without_kdeploys_inventory_entry_is_told_to_use_main() -> None:
    with pytest.raises(inventory_args.MissingInventory,
                       match=r"10\.0\.0\.1 has no kdeploy inventory entry for the accessory db"):
        plugin_args(dict(INVENTORY, kdeploy_accessories={}))
