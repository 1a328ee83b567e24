"""The config's sections as plain data, for `kdeploy config` (secret values never appear).

`Config.to_dict` puts them together. What the hosts make of the config (the proxy engine's data)
is not the config's to say: a `HostView` from the host contract adds it (host_contract/
config_view.py), and without one those keys are left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kdeploy.config.values import thaw

if TYPE_CHECKING:
    from kdeploy.config.accessory import Accessory
    from kdeploy.config.registry import Registry
    from kdeploy.config.role import Role

REDACTED = "[REDACTED]"


class HostView(Protocol):
    """What the hosts receive of the config: the data `kdeploy config` shows beside it."""

    def role_proxy(self, role: Role) -> dict[str, Any] | None:
        """A role's proxy data as its hosts get it (`roles/N/proxy`)."""

    def proxy_engine(self) -> dict[str, Any]:
        """The proxy engine and what each proxy host runs (`proxy_engine`)."""


def role_data(role: Role, host_view: HostView | None) -> dict[str, Any]:
    """A role in Kamal's words (and, with a host view, its proxy data)."""
    data = {
        "name": role.name,
        "hosts": list(role.hosts),
        "primary": role.primary,
        "cmd": role.cmd,
        "container_prefix": role.container_prefix,
        "labels": role.container_labels,
        "options": thaw(role.options),
        "env": env_data(role.env),
        "logging": plain(role.logging),
        "running_proxy": role.running_proxy,
    }
    if host_view is not None:
        data["proxy"] = host_view.role_proxy(role)
    data["asset_path"] = role.asset_path
    return data


def accessory_data(accessory: Accessory, redact: bool) -> dict[str, Any]:
    """An accessory, its registry password redacted unless `redact` is False."""
    data = plain(accessory)
    data["registry"] = (registry_data(accessory.registry, redact)
                        if accessory.registry else None)
    data["env"] = env_data(accessory.env)
    return data


def registry_data(registry: Registry, redact: bool) -> dict[str, Any]:
    """A registry; a password given in clear shows as [REDACTED] unless `redact` is False."""
    data = plain(registry)
    if redact and data.get("password") is not None:
        data["password"] = REDACTED
    return data


def env_data(env: Any) -> dict[str, Any]:
    """Clear values, secret names only, and each tag's env the same way."""
    data: dict[str, Any] = {"clear": dict(env.clear), "secret": list(env.secret_keys)}
    if env.tags:
        data["tags"] = {name: env_data(tag) for name, tag in env.tags.items()}
    return data


def plain(value: Any) -> Any:
    """A section's dataclass (or a value inside one) as plain data, leaving out `raw`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "raw"}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
