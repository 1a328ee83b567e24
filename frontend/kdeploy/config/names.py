"""Names that become container names, host paths and inventory groups, checked while loading.

Kamal 2.11 checks only the service name and alias names (`[a-z0-9_-]+`). Role, accessory and
destination names reach `docker run --name` (`<service>-<role>[-<destination>]-<version>`),
host paths (`~/.kamal/apps/<service>[-<destination>]/env/roles/<role>.env`, an accessory's
`~/<service>-<name>/...`), local files (`deploy.<destination>.yml`) and inventory groups
unchecked, so a role named `../../tmp/x` writes outside `~/.kamal`. kdeploy accepts what Docker
accepts inside a container name (letters, digits, `_`, `.`, `-`), which is every name Kamal can
deploy, minus what turns a name into a path or an option: `..` anywhere, and a leading `-` or
`.`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kdeploy.errors import ConfigError

# Docker's container-name characters (`[a-zA-Z0-9][a-zA-Z0-9_.-]`), `_` allowed first too, as
# Kamal puts these names after `<service>-`.
_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_RULE = ("Must only contain letters, digits, hyphens, underscores and dots, not start with a "
         "hyphen or a dot, and not contain '..'.")
# Kamal's rule for the service name, anchored to the whole string: Kamal's `^…$` matches per
# line, so it lets a multi-line name through that no Docker command accepts.
_SERVICE = re.compile(r"\A[a-z0-9_-]+\Z", re.IGNORECASE)
_ALIAS_LEADING_HYPHEN = "Must not start with a hyphen."


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot name a role, accessory or destination (`kind`), or None when it can."""
    if _NAME.match(name) and ".." not in name:
        return None
    return f"Invalid {kind} name: '{name}'. {_RULE}"


def valid_service_name(name: str) -> bool:
    """Kamal's service rule: alphanumeric characters, hyphens and underscores only."""
    return bool(_SERVICE.match(name))


def alias_problem(name: str) -> str | None:
    """Why an alias Kamal accepts is still refused: an alias is a command, never an option."""
    if name.startswith("-"):
        return f"Invalid alias name: '{name}'. {_ALIAS_LEADING_HYPHEN}"
    return None


def check_destination(destination: str | None) -> None:
    """Refuse a `-d` that would name a file outside `config/`, or a bad container name.

    Raises:
        ConfigError: the destination breaks the name rule (names `-d/--destination`).
    """
    # An empty `-d` means no destination, as load_config reads it.
    problem = name_problem("destination", destination) if destination else None
    if problem:
        raise ConfigError(f"-d/--destination: {problem}")


def group_key(name: str) -> str:
    """The part of a valid name its inventory group keeps (`role_<key>`, `accessory_<key>`).

    The inventory turns every character but letters, digits and `_` into `_`; of the valid
    characters that leaves `-` and `.`.
    """
    return name.replace("-", "_").replace(".", "_")


def shared_group(names: Iterable[str]) -> tuple[str, str] | None:
    """The first two names that would share an inventory group (`web-api`, `web_api`), or None."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(group_key(name), name)
        if other != name:
            return other, name
    return None
