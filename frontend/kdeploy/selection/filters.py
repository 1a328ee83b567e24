"""`-r/--roles`, `-h/--hosts`, `-p/--primary`: which roles and hosts a command acts on.

Kamal's semantics (`Kamal::Commander` and `Commander::Specifics`): patterns are comma
separated and matched with Ruby's `File.fnmatch` (`*`, `?`, `[..]`, and `{a,b}`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from kdeploy.config.model import Config
from kdeploy.config.role import Role
from kdeploy.config.values import frozen
from kdeploy.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """The roles and hosts a command acts on, after filtering."""

    hosts: tuple[str, ...]  # primary-role hosts first
    roles: tuple[Role, ...]  # primary role first
    primary_host: str | None
    role_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)
    accessory_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)
    # Hosts of the proxy roles (any role, selected or not) among `hosts`, in Kamal's order.
    proxy_hosts: tuple[str, ...] = ()

    @property
    def app_hosts(self) -> tuple[str, ...]:
        """Hosts of the selected roles."""
        return tuple(dict.fromkeys(h for hosts in self.role_hosts.values() for h in hosts))

    @property
    def role_names(self) -> tuple[str, ...]:
        """Names of the selected roles."""
        return tuple(role.name for role in self.roles)


def select(config: Config, roles: str | None = None, hosts: str | None = None,
           primary: bool = False) -> Selection:
    """Apply Kamal's filters to a config.

    Args:
        config: the loaded config.
        roles: `-r` patterns, comma separated.
        hosts: `-h` patterns, comma separated.
        primary: `-p`: only the primary host.

    Returns:
        The selection.

    Raises:
        UsageError: `No --roles match for X` / `No --hosts match for X`.
    """
    specific_roles = _filter(config.roles, roles, "roles", lambda r: r.name) if roles else None
    specific_hosts = _filter(config.all_hosts, hosts, "hosts", str) if hosts else None
    if primary:
        # Kamal takes the first -r role as written, not the primary one.
        first = specific_roles[0].primary_host if specific_roles else (
            config.primary_host if config.roles else None)
        specific_hosts = [first] if first else list(config.all_hosts[:1])
    selected_hosts = _specified_hosts(config, specific_roles, specific_hosts)
    candidates = specific_roles if specific_roles is not None else list(config.roles)
    in_scope = set(specific_hosts if specific_hosts is not None else config.all_hosts)
    selected_roles = [role for role in candidates if in_scope.intersection(role.hosts)]
    primary_host = (specific_hosts[0] if specific_hosts else None) or (
        _primary_or_first(config, specific_roles).primary_host if specific_roles
        else config.primary_host if config.roles else None)
    # The primary role of the selection: the config's primary role if it is on the primary
    # host, else the first selected role there; its roles and hosts sort first.
    on_primary = [role for role in selected_roles if primary_host in role.hosts]
    first = _primary_or_first(config, on_primary) if on_primary else None
    selected_roles.sort(key=lambda role: role is not first)
    first_hosts = set(first.hosts) if first else set()
    ordered_hosts = tuple(sorted(selected_hosts, key=lambda h: h not in first_hosts))
    return Selection(
        hosts=ordered_hosts,
        roles=tuple(selected_roles),
        primary_host=primary_host,
        role_hosts=frozen({role.name: _intersect(role.hosts, ordered_hosts)
                           for role in selected_roles}),
        accessory_hosts=frozen({
            accessory.name: found for accessory in config.accessories
            if (found := _intersect(accessory.hosts, ordered_hosts))
        }),
        proxy_hosts=_intersect(config.proxy_hosts, ordered_hosts),
    )


def _filter(items: Sequence[T], patterns: str, option: str, name: Callable[[T], str]) -> list[T]:
    # Kamal's filter_specific_items: matches collected filter by filter, then de-duplicated.
    filters = patterns.split(",")
    found = [item for pattern in filters for item in items if matches_pattern(name(item), pattern)]
    if not found:
        raise UsageError(f"No --{option} match for {','.join(filters)}")
    unique: list[T] = []
    for item in found:  # by identity: roles are not hashable
        if not any(item is seen for seen in unique):
            unique.append(item)
    return unique


def _specified_hosts(config: Config, roles: list[Role] | None,
                     hosts: list[str] | None) -> list[str]:
    # (-h matches, else all hosts) ∩ (hosts of the -r roles).
    candidates = list(hosts if hosts is not None else config.all_hosts)
    role_hosts = {h for role in roles or () for h in role.hosts}
    return [h for h in candidates if h in role_hosts] if role_hosts else candidates


def _primary_or_first(config: Config, roles: Sequence[Role]) -> Role:
    return next((role for role in roles if role.name == config.primary_role_name), roles[0])


def _intersect(hosts: tuple[str, ...], selected: tuple[str, ...]) -> tuple[str, ...]:
    # Ruby's `hosts & selected`: in the order of `hosts`.
    chosen = set(selected)
    return tuple(h for h in hosts if h in chosen)


def matches_pattern(name: str, pattern: str) -> bool:
    """Kamal's `-r`/`-h` matching: File.fnmatch with FNM_EXTGLOB (`*`, `[..]`, `{a,b}`)."""
    # Ruby's FNM_EXTGLOB adds `{a,b}`; expand braces, then match case-sensitively.
    return any(fnmatch.fnmatchcase(name, p) for p in _expand_braces(pattern))


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end():]
    return [e for option in match.group(1).split(",") for e in _expand_braces(head + option + tail)]
