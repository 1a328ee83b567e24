"""`servers:`: a host list (one role, `web`) or a hash of roles (Kamal's Configuration::Servers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdeploy.config.names import group_key, shared_group
from kdeploy.config.role import validate_role, validate_role_proxy
from kdeploy.config.ruby import ARRAY, HASH, NIL
from kdeploy.config.validation import Validator
from kdeploy.config.values import ruby_str


def validate_servers(servers: Any, primary: str) -> None:
    """`servers:` is a host list (one role `web`) or a hash of roles."""
    validator = Validator("servers")
    validator.of_type(servers, ARRAY, HASH, NIL)
    if isinstance(servers, list):
        validator.servers(servers)
    for name in role_names(servers):
        role = role_config(servers, name)
        validate_role(name, role)
        validate_role_proxy(name, role, name == primary)
    check_groups_apart(validator, "role", role_names(servers))


def check_groups_apart(validator: Validator, kind: str, names: tuple[str, ...]) -> None:
    """Fail when two names would share one inventory group (`web-api` and `web_api`)."""
    shared = shared_group(names)
    if shared:
        first, second = shared
        validator.error(f"{kind} names '{first}' and '{second}' would share the inventory group "
                        f"{kind}_{group_key(first)}; rename one")


def role_names(servers: Any) -> tuple[str, ...]:
    """Kamal's role names: `web` for a host list, else the hash keys sorted."""
    if isinstance(servers, list):
        return ("web",)
    return tuple(sorted(ruby_str(k) for k in servers)) if isinstance(servers, dict) else ()


def primary_role_name(raw: Mapping[str, Any]) -> str:
    """`primary_role`, default `web`."""
    return ruby_str(raw.get("primary_role") or "web")


def role_config(servers: Any, name: str) -> Any:
    """The raw config of role `name`: the whole list for list-form `servers`."""
    if isinstance(servers, list):
        return servers
    return next(value for key, value in servers.items() if ruby_str(key) == name)
