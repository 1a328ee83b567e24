"""Kamal's rules that span sections (`ensure_*` in Configuration), run after validation."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kdeploy.config.names import alias_problem, valid_service_name
from kdeploy.config.registry import is_local_server
from kdeploy.config.role import tagged_hosts
from kdeploy.config.ruby import present
from kdeploy.config.servers import primary_role_name, role_config, role_names
from kdeploy.config.validation import Validator
from kdeploy.config.values import ruby_str
from kdeploy.errors import ConfigError

if TYPE_CHECKING:
    from kdeploy.config.model import Config

# The Kamal release whose config semantics kdeploy implements (`minimum_version` compares to it).
KAMAL_VERSION = "2.11.0"
_ALIAS_NAME = re.compile(r"\A[a-z0-9_-]+\Z")
_BUILT_IN_COMMANDS = frozenset((
    "setup", "deploy", "redeploy", "rollback", "details", "audit", "config", "docs", "init",
    "remove", "upgrade", "version", "accessory", "app", "build", "lock", "proxy", "prune",
    "registry", "secrets", "server",
))
_HOOKS_OUTPUT_LEVELS = ("quiet", "verbose")
# Gem::Version's pattern: what Kamal accepts as a `minimum_version`.
_GEM_VERSION = re.compile(
    r"\A\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\Z")


def validate_alias(name: str, command: Any) -> None:
    """An alias is a command string with a lowercase name that is not a built-in command."""
    validator = Validator(f"aliases/{name}")
    validator.of_type(command, "string")
    if not _ALIAS_NAME.match(name):
        validator.error(f"Invalid alias name: '{name}'. Must only contain lowercase letters, "
                        "alphanumeric, hyphens and underscores.")
    if name in _BUILT_IN_COMMANDS:
        validator.error(f"Alias '{name}' conflicts with a built-in command.")
    problem = alias_problem(name)
    if problem:
        validator.error(problem)


def check_required(raw: Mapping[str, Any], destination: str | None) -> None:
    """Destination if required, service, registry, image, servers and the primary role."""
    if raw.get("require_destination") and destination is None:
        raise ConfigError("You must specify a destination")
    for key in ("service", "registry"):
        if not present(raw.get(key)):
            raise ConfigError(f"Missing required configuration for {key}")
    local = is_local_server((raw.get("registry") or {}).get("server"))
    if not present(raw.get("image")) and not (local and present(raw.get("service"))):
        raise ConfigError("Missing required configuration for image")
    servers = raw.get("servers")
    if servers is None:
        if not present(raw.get("accessories")):
            raise ConfigError("No servers or accessories specified")
        return
    primary = primary_role_name(raw)
    names = role_names(servers)
    hosts = {name: tagged_hosts(role_config(servers, name)) for name in names}
    _check_roles(primary, hosts, bool(raw.get("allow_empty_roles")))


def _check_roles(primary: str, hosts: Mapping[str, Mapping[str, Any]], allow_empty: bool) -> None:
    if primary not in hosts:
        raise ConfigError(f"The primary_role {primary} isn't defined")
    if not hosts[primary]:
        raise ConfigError(f"No servers specified for the {primary} primary_role")
    for name, role_hosts in hosts.items():
        if not role_hosts and not allow_empty:
            raise ConfigError(f"No servers specified for the {name} role. "
                              "You can ignore this with allow_empty_roles: true")


def check_config(config: Config, raw: Mapping[str, Any]) -> None:
    """The remaining `ensure_*` rules, on the built config."""
    _check_minimum_version(config.minimum_version)
    if config.retain_containers < 1:
        raise ConfigError("Must retain at least 1 container")
    # Kamal crashes on a non-string service (`true`, `123`); call it an invalid name instead.
    if not isinstance(raw.get("service"), str) or not valid_service_name(config.service):
        raise ConfigError("Service name can only include alphanumeric characters, hyphens, "
                          "and underscores")
    _check_hooks(config.project_dir / config.hooks_path)
    _check_ssl(config)
    remote = config.builder.remote
    if config.registry.local and remote and urlparse(remote).scheme != "ssh":
        raise ConfigError("Local registry with remote builder requires an SSH URL "
                          "(e.g., ssh://user@host)")
    _check_proxy_runs(config)
    _check_hooks_output(raw.get("hooks_output"))


def _check_minimum_version(minimum: str | None) -> None:
    if minimum is None:
        return
    if not _GEM_VERSION.match(minimum):
        raise ConfigError(f"Malformed version number string {minimum}")
    if _version_key(minimum) > _version_key(KAMAL_VERSION):
        raise ConfigError(f"Current version is {KAMAL_VERSION}, minimum required is {minimum}")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.-]", version))


def _check_hooks(hooks_dir: Path) -> None:
    found = [h for h in ("pre-traefik-reboot", "post-traefik-reboot") if (hooks_dir / h).exists()]
    if found:
        raise ConfigError(f"Found {', '.join(found)}, these should be renamed to "
                          "(pre|post)-proxy-reboot")


def _check_ssl(config: Config) -> None:
    ssl_hosts: list[str] = []
    for role in sorted(config.roles, key=lambda r: r.name):
        if role.proxy is None or not role.proxy.ssl:
            continue
        if len(role.hosts) > 1 and not role.proxy.custom_ssl_certificate:
            raise ConfigError("SSL is only supported on a single server unless you provide "
                              f"custom certificates, found {len(role.hosts)} servers for role "
                              f"{role.name}")
        ssl_hosts.extend(role.proxy.hosts)
    duplicates = [host for host, count in Counter(ssl_hosts).items() if count > 1]
    if duplicates:
        raise ConfigError(f"Different roles can't share the same host for SSL: "
                          f"{', '.join(duplicates)}")


def _check_proxy_runs(config: Config) -> None:
    for host in config.all_hosts:
        runs = [dict(run) for run in config.proxy_runs(host)]
        if any(run != runs[0] for run in runs):
            raise ConfigError(f"Conflicting proxy run configurations for host {host}")


def _check_hooks_output(value: Any) -> None:
    # Kamal checks a string or a hash; any other scalar is ignored (and means: no setting).
    levels = value.items() if isinstance(value, dict) else [(None, value)] \
        if isinstance(value, str) else []
    for hook, level in levels:
        level = ruby_str(level).lstrip(":")
        if level not in _HOOKS_OUTPUT_LEVELS:
            where = f" for hook '{hook}'" if hook is not None else ""
            raise ConfigError(f"Invalid hooks_output '{level}'{where}, must be one of: "
                              f"{', '.join(_HOOKS_OUTPUT_LEVELS)}")
