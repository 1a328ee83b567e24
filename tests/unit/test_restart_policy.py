"""Kamal 2.12's `options: {restart: …}`: the container's restart policy, never a plain flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from context_helpers import context

from kdeploy.config import Config, load_config
from kdeploy.config.docker_options import option_args
from kdeploy.host_contract.inventory import build_inventory
from kdeploy.plan.accessory import build_accessory_exec_plan


def load(tmp_path: Path, web: dict[str, Any], db: dict[str, Any]) -> Config:
    raw = {
        "service": "app", "image": "app", "registry": {"server": "localhost:5000"},
        "builder": {"arch": "amd64"},
        "servers": {"web": {"hosts": ["10.0.0.1"], "options": web},
                    "job": {"hosts": ["10.0.0.2"], "cmd": "bin/job"}},
        "accessories": {"db": {"image": "postgres:16", "host": "10.0.0.1", "options": db}},
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(raw))
    return load_config(tmp_path / "config" / "deploy.yml", version="v1", environ={})


def test_a_roles_restart_option_replaces_unless_stopped(tmp_path: Path) -> None:
    config = load(tmp_path, {"restart": "on-failure:3", "memory": "1g"}, {"restart": "always"})
    roles = build_inventory(config)["all_vars"]["kdeploy_app_roles"]
    assert (roles["web"]["restart_policy"], roles["web"]["docker_args"]) == (
        "on-failure:3", ["--memory", "1g"])
    # A role without the option keeps Kamal's default.
    assert roles["job"]["restart_policy"] == "unless-stopped"


@pytest.mark.parametrize("policy", ["always", "no", "on-failure", "on-failure:5"])
def test_an_accessorys_restart_option_is_its_docker_run_restart_policy(
    tmp_path: Path, policy: str,
) -> None:
    config = load(tmp_path, {}, {"restart": policy, "memory": "512m"})
    db = build_inventory(config)["all_vars"]["kdeploy_accessories"]["db"]
    # `docker run --restart <policy>`, on-failure's `:N` included, as Kamal passes it.
    assert (db["restart_policy"], db["docker_args"]) == (policy, ["--memory", "512m"])


def test_an_accessory_without_the_option_keeps_unless_stopped(tmp_path: Path) -> None:
    db = build_inventory(load(tmp_path, {}, {}))["all_vars"]["kdeploy_accessories"]["db"]
    assert (db["restart_policy"], db["docker_args"]) == ("unless-stopped", [])


def test_exec_containers_never_get_the_policy(tmp_path: Path) -> None:
    # Kamal 2.12: execute_in_new_container leaves restart out (option_args rejects it).
    config = load(tmp_path, {"restart": "always", "memory": "1g"}, {"restart": "always"})
    plan = build_accessory_exec_plan(context(config), "db", ("psql",), reuse=False)
    assert plan.extravars["accessory_option_args"] == []
    assert option_args({"restart": "always", "memory": "1g"}, "servers/web/options") == [
        "--memory", "1g"]
