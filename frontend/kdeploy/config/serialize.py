"""The resolved config as plain data, for `kdeploy config` (secret values never appear)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.config.proxy_support import check_engine
from kdeploy.config.values import thaw
from kdeploy.host_contract.proxy import host_proxy, role_proxy

if TYPE_CHECKING:
    from kdeploy.config.accessory import Accessory
    from kdeploy.config.model import Config
    from kdeploy.config.role import Role

REDACTED = "[REDACTED]"


def config_to_dict(config: Config, redact: bool = True) -> dict[str, Any]:
    """Everything kdeploy resolved, in Kamal's words; secrets by name only.

    `redact=False` only keeps clear values that look sensitive (registry password given
    in clear); secret *values* are never looked up here.

    Raises:
        ConfigError: a `proxy:` key the proxy engine cannot honour.
    """
    check_engine(config, name_file=True)
    return {
        "service": config.service,
        "destination": config.destination,
        "image": config.image,
        "repository": config.repository,
        "version": config.version,
        "absolute_image": config.absolute_image if config.version else None,
        "service_with_version": config.service_with_version,
        "latest_tag": config.latest_tag,
        "primary_role": config.primary_role_name,
        "primary_host": config.primary_host if config.roles else None,
        "roles": [_role(config, role) for role in config.roles],
        "hosts": list(config.all_hosts),
        "accessories": [_accessory(a, redact) for a in config.accessories],
        "registry": _registry(config, redact),
        "env": _env(config.env),
        "volumes": list(config.volumes),
        "labels": dict(config.labels),
        "logging": _plain(config.logging),
        "ssh": _plain(config.ssh),
        "sshkit": thaw(config.sshkit.raw),
        "builder": thaw(config.builder.raw),
        "boot": _plain(config.boot),
        "proxy": thaw(config.proxy.raw),
        "proxy_engine": _proxy_engine(config),
        "aliases": dict(config.aliases),
        "readiness_delay": config.readiness_delay,
        "deploy_timeout": config.deploy_timeout,
        "drain_timeout": config.drain_timeout,
        "retain_containers": config.retain_containers,
        "hooks_path": config.hooks_path,
        "secrets_path": config.secrets_path,
        "asset_path": config.asset_path,
        "error_pages_path": config.error_pages_path,
        "x-kdeploy": _plain(config.extension),
    }


def _proxy_engine(config: Config) -> dict[str, Any]:
    # The engine, and per proxy host the container and image it runs (kamal-proxy's image can
    # differ by host: Kamal reads `proxy/run` per host).
    hosts = {}
    for host in config.proxy_hosts:
        data = host_proxy(config, host)
        hosts[host] = {"container": data["container"], "image": data["image"]}
    return {"engine": config.extension.proxy.engine, "hosts": hosts}


def _role(config: Config, role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "hosts": list(role.hosts),
        "primary": role.primary,
        "cmd": role.cmd,
        "container_prefix": role.container_prefix,
        "labels": role.container_labels,
        "options": thaw(role.options),
        "env": _env(role.env),
        "logging": _plain(role.logging),
        "running_proxy": role.running_proxy,
        "proxy": role_proxy(config, role),
        "asset_path": role.asset_path,
    }


def _accessory(accessory: Accessory, redact: bool) -> dict[str, Any]:
    data = _plain(accessory)
    data["registry"] = (_registry_fields(accessory.registry, redact)
                        if accessory.registry else None)
    data["env"] = _env(accessory.env)
    return data


def _registry(config: Config, redact: bool) -> dict[str, Any]:
    return {**_registry_fields(config.registry, redact), "local": config.registry.local}


def _registry_fields(registry: Any, redact: bool) -> dict[str, Any]:
    data = _plain(registry)
    if redact and data.get("password") is not None:
        data["password"] = REDACTED
    return data


def _env(env: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"clear": dict(env.clear), "secret": list(env.secret_keys)}
    if env.tags:
        data["tags"] = {name: _env(tag) for name, tag in env.tags.items()}
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "raw"}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
