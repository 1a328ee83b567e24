"""Render the Ansible inventory for a Config: a group per role and per accessory, no secret values.

The shape is the contract in docs/ansible-interface.md. Everything here is pure: Config in,
data (and YAML text) out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from kdeploy.config.proxy_engine import (
    check_engine,
    error_pages,
    host_proxy,
    proxy_hosts,
    role_proxy,
)
from kdeploy.docker_options import docker_run_args, restart_policy, translate_options
from kdeploy.resources import resource_dir

if TYPE_CHECKING:
    from kdeploy.config import Accessory, Config, Env, Registry, Role

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def role_group(role_name: str) -> str:
    """Return the inventory group of a Kamal role (letters, digits and `_` only)."""
    return "role_" + _UNSAFE.sub("_", role_name)


def accessory_group(name: str) -> str:
    """Return the inventory group of an accessory."""
    return "accessory_" + _UNSAFE.sub("_", name)


def secret_env_var(secret_name: str) -> str:
    """Return the environment variable that carries a secret to the playbooks."""
    return "KDEPLOY_SECRET_" + _UNSAFE.sub("_", secret_name).upper()


PROXY_GROUP = "kdeploy_proxy"


def build_inventory(config: Config) -> dict[str, Any]:
    """Return the inventory as data: ``{"all_vars", "hosts", "groups"}``.

    Raises:
        ConfigError: a `proxy:` key the proxy engine cannot honour (names the file and key).
    """
    check_engine(config, name_file=True)
    groups = {role_group(role.name): list(role.hosts) for role in config.roles}
    groups.update({accessory_group(acc.name): list(acc.hosts) for acc in config.accessories})
    groups[PROXY_GROUP] = list(proxy_hosts(config))
    return {
        "all_vars": _all_vars(config),
        "hosts": {host: _host_vars(config, host) for host in config.all_hosts},
        "groups": groups,
    }


def render_inventory(config: Config) -> str:
    """Render ``inventory/hosts.yml`` from ``inventory_templates/hosts.yml.j2``."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("inventory_templates")),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    template = environment.get_template("hosts.yml.j2")
    return template.render(
        config_file=str(config.config_file),
        destination=config.destination,
        **build_inventory(config),
    )


def _all_vars(config: Config) -> dict[str, Any]:
    return {
        **_ssh_vars(config),
        "kdeploy_service": config.service,
        "kdeploy_destination": config.destination or "",
        "kdeploy_service_with_destination": config.service_with_destination,
        "kdeploy_primary_role": config.primary_role.name,
        "kdeploy_repository": config.repository,
        "kdeploy_readiness_delay": config.readiness_delay,
        "kdeploy_deploy_timeout": config.deploy_timeout,
        "kdeploy_drain_timeout": config.drain_timeout,
        "kdeploy_retain_containers": config.retain_containers,
        "kdeploy_registry": registry_vars(config.registry),
        "kdeploy_app_roles": {role.name: _role_vars(config, role) for role in config.roles},
        "kdeploy_accessories": {acc.name: _accessory_vars(config, acc)
                                for acc in config.accessories},
        "kdeploy_error_pages": error_pages(config),
    }


def _ssh_vars(config: Config) -> dict[str, Any]:
    ssh = config.ssh
    ssh_vars: dict[str, Any] = {"ansible_user": ssh.user, "ansible_port": int(ssh.port)}
    if ssh.keys:
        ssh_vars["ansible_ssh_private_key_file"] = str(Path(ssh.keys[0]).expanduser())
    args = []
    if ssh.proxy:
        args.append(f"-o ProxyJump={ssh.proxy}")
    if ssh.proxy_command:
        args.append(f"-o ProxyCommand='{ssh.proxy_command}'")
    if ssh.keys_only:
        args.append("-o IdentitiesOnly=yes")
    args.extend(f"-o IdentityFile={Path(key).expanduser()}" for key in ssh.keys[1:])
    if ssh.config is False:
        args.append("-F /dev/null")
    elif isinstance(ssh.config, str) and ssh.config not in ("true",):
        args.append(f"-F {ssh.config}")
    if args:
        ssh_vars["ansible_ssh_common_args"] = " ".join(args)
    interpreter = config.extension.python_interpreter
    if interpreter:
        ssh_vars["ansible_python_interpreter"] = interpreter
    return ssh_vars


def registry_vars(registry: Registry | None) -> dict[str, Any] | None:
    """Return the registry login as the playbooks see it: values or env var names, no secrets."""
    if registry is None:
        return None
    login = not registry.local and bool(registry.password or registry.password_secret)
    return {
        "server": registry.server,
        "username": registry.username,
        "username_env": secret_env_var(registry.username_secret)
        if registry.username_secret else None,
        "password_env": secret_env_var(registry.password_secret)
        if login and registry.password_secret else None,
    }


def _role_vars(config: Config, role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "container_prefix": role.container_prefix,
        "labels": dict(role.container_labels),
        "cmd": role.cmd,
        "volumes": list(config.volumes),
        "log_driver": role.logging.driver,
        "log_options": dict(role.logging.options),
        "env_file": f".kamal/apps/{config.service_with_destination}/env/roles/{role.name}.env",
        "docker_args": docker_run_args(role.options),
        "restart_policy": restart_policy(role.options),
        "proxy": role_proxy(config, role),
    }


DESTINATION_LABEL = "kdeploy.destination"


def accessory_on_hosts(config: Config, accessory: Accessory) -> Accessory:
    """The accessory with the names it has on the hosts.

    Kamal's names, or with `x-kdeploy/accessories/name_by_destination` and a destination the
    destination's own (`<service>-<name>-<dest>`, see Accessory.named_by_destination).
    """
    if config.extension.accessories.name_by_destination:
        return accessory.named_by_destination(config.destination)
    return accessory


def _accessory_vars(config: Config, accessory: Accessory) -> dict[str, Any]:
    accessory = accessory_on_hosts(config, accessory)
    return {
        "name": accessory.name,
        "service_name": accessory.service_name,
        "image": accessory.image,
        "registry": registry_vars(accessory.registry),
        "cmd": accessory.cmd,
        "published_ports": [accessory.port] if accessory.port else [],
        # Last, so no config label can hide whose container it is (destination_check.yml).
        "labels": {**accessory.labels, DESTINATION_LABEL: config.destination or ""},
        **_env_vars(accessory.env),
        # Under the app directory `<service>[-<dest>]`: already one per destination, as in Kamal.
        "env_file": f".kamal/apps/{config.service_with_destination}/env/accessories/"
                    f"{accessory.name}.env",
        "volumes": list(accessory.volumes),
        "directories": [
            {"path": d.host_path, "mount": d.remote, "mode": d.mode, "owner": d.owner}
            for d in accessory.directories
        ],
        "files": [
            {"src": str(f.local), "path": f.host_path, "mount": f.remote, "mode": f.mode,
             "owner": f.owner}
            for f in accessory.files
        ],
        "network": accessory.network,
        "log_driver": config.logging.with_default().driver,
        "log_options": dict(config.logging.with_default().options),
        "docker": translate_options(accessory.options, f"accessories/{accessory.name}/options"),
        "restart_policy": "unless-stopped",
    }


def _env_vars(env: Env) -> dict[str, Any]:
    return {
        "env": {key: str(value) for key, value in env.clear.items()},
        "secret_env": {key: secret_env_var(secret) for key, secret in env.secret.items()},
    }


def _host_vars(config: Config, host: str) -> dict[str, Any]:
    host_vars: dict[str, Any] = {"kdeploy_host_tags": list(config.host_tags.get(host, ()))}
    if host in proxy_hosts(config):
        host_vars["kdeploy_proxy"] = host_proxy(config, host)
    roles_here = [role for role in config.roles if host in role.hosts]
    if roles_here:
        host_vars["kdeploy_app_env"] = {}
        for role in roles_here:
            env = _env_vars(role.env_for_host(host))
            host_vars["kdeploy_app_env"][role.name] = {
                "clear": env["env"], "secret_env": env["secret_env"],
            }
    return host_vars
