"""Turn the merged raw config into a Config, validating section by section in Kamal's order."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kdeploy.config import checks, defaults
from kdeploy.config.accessory import (
    Accessory,
    accessory_hosts,
    build_accessory,
    validate_accessory,
)
from kdeploy.config.boot import build_boot, validate_boot
from kdeploy.config.builder import build_builder, validate_builder
from kdeploy.config.docs import example
from kdeploy.config.env import build_env, validate_env
from kdeploy.config.extension import KEY, build_extension, validate_extension
from kdeploy.config.logging import build_logging, validate_logging
from kdeploy.config.model import Config
from kdeploy.config.proxy import build_proxy, validate_proxy
from kdeploy.config.proxy_support import check_engine
from kdeploy.config.registry import build_registry, validate_registry
from kdeploy.config.role import Role, build_role
from kdeploy.config.servers import (
    check_groups_apart,
    primary_role_name,
    role_config,
    role_names,
    validate_servers,
)
from kdeploy.config.ssh import build_ssh, build_sshkit, validate_ssh, validate_sshkit
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str, str_map


def validate_raw(raw: dict[str, Any]) -> None:
    """Validate every section; the first problem raises ConfigError (without the file name)."""
    Validator(allow_extensions=True).against_example(raw, example("configuration"))
    validate_servers(raw.get("servers"), primary_role_name(raw))
    validate_registry(raw.get("registry") or {})
    names = role_names(raw.get("servers"))
    for name, accessory in (raw.get("accessories") or {}).items():
        validate_accessory(ruby_str(name), accessory, names)
    check_groups_apart(Validator("accessories"), "accessory",
                       tuple(ruby_str(name) for name in raw.get("accessories") or {}))
    for name, command in (raw.get("aliases") or {}).items():
        checks.validate_alias(ruby_str(name), command)
    validate_boot(raw.get("boot") or {})
    validate_builder(raw.get("builder") or {})
    validate_env(raw.get("env") or {}, "env")
    validate_logging(raw.get("logging") or {})
    validate_proxy(raw.get("proxy"))
    validate_ssh(raw.get("ssh") or {})
    validate_sshkit(raw.get("sshkit") or {})


def assemble_config(raw: dict[str, Any], *, config_file: Path, project_dir: Path,
                 destination: str | None, version: str | None, secrets: Any = None) -> Config:
    """Validate `raw` and build the Config (checks across sections run last, as in Kamal)."""
    validate_raw(raw)
    checks.check_required(raw, destination)
    registry = build_registry(raw.get("registry") or {})
    service = ruby_str(raw["service"])
    image = ruby_str(raw.get("image") or (service if registry.local else ""))
    root = _root_sections(raw, service, destination)
    primary = primary_role_name(raw)
    roles = _build_roles(raw, primary, root)
    accessories = _build_accessories(raw, roles, service, project_dir)
    ordered = sorted(roles.values(), key=lambda role: not role.primary)  # stable: primary first
    all_hosts = (h for group in (*roles.values(), *accessories) for h in group.hosts)
    config = Config(
        config_file=config_file, project_dir=project_dir, destination=destination,
        service=service, image=image, version=version, registry=registry,
        roles=tuple(ordered), accessories=accessories, all_hosts=tuple(dict.fromkeys(all_hosts)),
        primary_role_name=primary, env=root["env"], logging=root["logging"], proxy=root["proxy"],
        labels=root["labels"], asset_path=root["asset_path"] or None,
        ssh=build_ssh(raw.get("ssh")), sshkit=build_sshkit(raw.get("sshkit")),
        builder=build_builder(raw.get("builder")), boot=build_boot(raw.get("boot")),
        secrets=secrets, **_root_scalars(raw),
    )
    checks.check_config(config, raw)
    # Kamal never looks at `x-kdeploy`: check it last, so Kamal's errors come first.
    validate_extension(raw.get(KEY))
    config = dataclasses.replace(config, extension=build_extension(raw.get(KEY)))
    check_engine(config)  # proxy keys the engine cannot honour (after x-kdeploy, Kamal's last)
    return config


def _build_roles(raw: Mapping[str, Any], primary: str,
                 root: Mapping[str, Any]) -> dict[str, Role]:
    # In Kamal's order (alphabetical), which `all_hosts` keeps.
    servers = raw.get("servers")
    return {name: build_role(name, role_config(servers, name), primary=name == primary, root=root)
            for name in role_names(servers)}


def _build_accessories(raw: Mapping[str, Any], roles: Mapping[str, Role], service: str,
                       project_dir: Path) -> tuple[Accessory, ...]:
    def role_hosts(name: str) -> tuple[str, ...]:
        return roles[name].hosts if name in roles else ()

    return tuple(
        build_accessory(ruby_str(name), spec, service=service, project_dir=project_dir,
                        hosts=accessory_hosts(spec, role_hosts, raw.get("servers")))
        for name, spec in (raw.get("accessories") or {}).items()
    )


def _root_sections(raw: Mapping[str, Any], service: str, destination: str | None) -> dict[str, Any]:
    # What every role inherits from the root.
    return {
        "service": service, "destination": destination,
        "labels": frozen(str_map(raw.get("labels"))),
        "env": build_env(raw.get("env")), "logging": build_logging(raw.get("logging")),
        "proxy": build_proxy(raw.get("proxy")), "asset_path": ruby_str(raw.get("asset_path")),
    }


def _root_scalars(raw: Mapping[str, Any]) -> dict[str, Any]:
    def text(key: str, default: str | None = None) -> str | None:
        value = raw.get(key)
        return default if value is None else ruby_str(value)

    hooks_output = raw.get("hooks_output")
    return {
        "volumes": tuple(ruby_str(v) for v in raw.get("volumes") or ()),
        "aliases": frozen(str_map(raw.get("aliases"))),
        # Ruby's `||` keeps 0, so `retain_containers: 0` is kept and then rejected.
        **{key: default if raw.get(key) is None else raw[key] for key, default in (
            ("readiness_delay", defaults.READINESS_DELAY),
            ("deploy_timeout", defaults.DEPLOY_TIMEOUT),
            ("drain_timeout", defaults.DRAIN_TIMEOUT),
            ("retain_containers", defaults.RETAIN_CONTAINERS))},
        "allow_empty_roles": bool(raw.get("allow_empty_roles")),
        "require_destination": bool(raw.get("require_destination")),
        "minimum_version": text("minimum_version"),
        "hooks_path": text("hooks_path", ".kamal/hooks"),
        # Kamal writes levels as symbols (`:verbose`); keep the bare word.
        "hooks_output": frozen({ruby_str(k): ruby_str(v).lstrip(":")
                                for k, v in hooks_output.items()})
        if isinstance(hooks_output, dict)
        else hooks_output.lstrip(":") if isinstance(hooks_output, str) else None,
        "secrets_path": text("secrets_path", ".kamal/secrets"),
        "error_pages_path": text("error_pages_path"),
    }
