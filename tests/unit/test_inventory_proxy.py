"""The proxy in the inventory: group and host var `kdeploy_proxy`, `kdeploy_app_roles[r].proxy`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy import ansible_yaml
from kdeploy.config import Config, load_config
from kdeploy.errors import ConfigError
from kdeploy.host_contract.inventory import build_inventory, render_inventory
from kdeploy.host_contract.kamal_proxy import run_args

BASE: dict[str, Any] = {
    "service": "app", "image": "app",
    "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
    "servers": {
        "web": ["10.0.0.1", "10.0.0.2"],
        "api": {"hosts": ["10.0.0.3"], "proxy": {"run": {"http_port": 8080}}},
        "jobs": {"hosts": ["10.0.0.2", "10.0.0.4"], "cmd": "bin/jobs"},
    },
    "accessories": {"db": {"image": "postgres:16", "host": "10.0.0.5"}},
}


def load(tmp_path: Path, config: dict[str, Any] | None = None) -> Config:
    path = tmp_path / "config" / "deploy.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config or BASE, sort_keys=False))
    return load_config(path, version="v1", environ={})


def test_group_and_host_var_on_the_proxy_hosts_only(tmp_path):
    inventory = build_inventory(load(tmp_path))
    # Kamal's proxy_hosts: the proxy roles' hosts in role order (api, web), jobs and db not.
    assert inventory["groups"]["kdeploy_proxy"] == ["10.0.0.3", "10.0.0.1", "10.0.0.2"]
    assert {host for host, host_vars in inventory["hosts"].items()
            if "kdeploy_proxy" in host_vars} == {"10.0.0.1", "10.0.0.2", "10.0.0.3"}


def test_run_config_is_per_host(tmp_path):
    hosts = build_inventory(load(tmp_path))["hosts"]
    # api's own proxy/run on its host; web's hosts have none: Kamal's legacy boot config.
    assert hosts["10.0.0.3"]["kdeploy_proxy"]["run_args"] == run_args({"http_port": 8080})
    assert "8080:80" in hosts["10.0.0.3"]["kdeploy_proxy"]["run_args"]
    assert hosts["10.0.0.1"]["kdeploy_proxy"]["run_args"] == run_args(None)
    assert hosts["10.0.0.2"]["kdeploy_proxy"]["image"] == "basecamp/kamal-proxy:v0.9.2"


def test_role_proxy_is_null_for_roles_without_the_proxy(tmp_path):
    roles = build_inventory(load(tmp_path))["all_vars"]["kdeploy_app_roles"]
    assert roles["jobs"]["proxy"] is None
    assert roles["web"]["proxy"]["service"] == "app-web"
    assert roles["api"]["proxy"]["service"] == "app-api"


def test_primary_role_without_the_proxy(tmp_path):
    config = {**BASE, "servers": {"web": {"hosts": ["10.0.0.1"], "proxy": False}}}
    inventory = build_inventory(load(tmp_path, config))
    assert inventory["groups"]["kdeploy_proxy"] == []
    assert "kdeploy_proxy" not in inventory["hosts"]["10.0.0.1"]
    assert inventory["all_vars"]["kdeploy_app_roles"]["web"]["proxy"] is None


def test_conflicting_run_configs_on_a_host(tmp_path):
    servers = {"web": {"hosts": ["10.0.0.1"], "proxy": {"run": {"http_port": 8080}}},
               "api": {"hosts": ["10.0.0.1"], "proxy": {"run": {"http_port": 9090}}}}
    with pytest.raises(ConfigError, match=r"Conflicting proxy run configurations for host "
                                          r"10\.0\.0\.1$"):
        load(tmp_path, {**BASE, "servers": servers})


def test_caddy_engine(tmp_path):
    config = {**BASE, "x-kdeploy": {"proxy": {"engine": "caddy",
                                              "image": "10.213.7.1:5000/kdeploy-caddy:2"}}}
    inventory = build_inventory(load(tmp_path, config))
    proxy = inventory["hosts"]["10.0.0.3"]["kdeploy_proxy"]
    assert (proxy["engine"], proxy["container"], proxy["image"], proxy["admin_socket"]) == (
        "caddy", "kdeploy-proxy", "10.213.7.1:5000/kdeploy-caddy:2", ".kdeploy/proxy/admin.sock")
    assert proxy["run_args"][17:19] == ["--publish", "8080:80"]
    web = inventory["all_vars"]["kdeploy_app_roles"]["web"]["proxy"]
    assert (web["deploy_args"], web["route"]["@id"]) == (None, "kdeploy-app-web")


def test_rendered_inventory_is_the_data(tmp_path):
    config = load(tmp_path, {**BASE, "x-kdeploy": {"proxy": {"engine": "caddy"}}})
    rendered = ansible_yaml.load(render_inventory(config))["all"]
    data = build_inventory(config)
    assert rendered["hosts"]["10.0.0.1"]["kdeploy_proxy"] == data["hosts"]["10.0.0.1"][
        "kdeploy_proxy"]
    assert rendered["vars"]["kdeploy_app_roles"]["web"]["proxy"] == data["all_vars"][
        "kdeploy_app_roles"]["web"]["proxy"]
    assert rendered["children"]["kdeploy_proxy"]["hosts"] == {
        host: {} for host in data["groups"]["kdeploy_proxy"]}


def test_render_refuses_keys_the_engine_cannot_honour(tmp_path):
    # Refused by load_config once build.py checks the engine; by the inventory in any case.
    with pytest.raises(ConfigError, match=r"deploy\.yml: proxy/logging/request_headers: not "
                                          r"supported by the caddy proxy engine"):
        render_inventory(load(tmp_path, {
            **BASE, "proxy": {"logging": {"request_headers": ["X-A"]}},
            "x-kdeploy": {"proxy": {"engine": "caddy"}}}))
