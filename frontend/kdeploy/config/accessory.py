"""One entry under `accessories:` (Kamal's Configuration::Accessory)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kdeploy.config import defaults
from kdeploy.config.docs import example
from kdeploy.config.env import Env, build_env, validate_env
from kdeploy.config.names import name_problem
from kdeploy.config.proxy import Proxy, build_proxy, validate_proxy
from kdeploy.config.registry import Registry, build_registry, validate_registry
from kdeploy.config.ruby import present, truthy
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str, str_list, str_map

_PLACEMENTS = ("host", "hosts", "role", "roles", "tag", "tags")
# A volume source Docker takes as a volume name rather than a host path.
_NAMED_VOLUME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class AccessoryFile:
    """A file uploaded to `~/<host_path>` and bind-mounted at `remote`."""

    local: Path
    host_path: str
    remote: str
    mode: str | None = "755"
    owner: str | None = None
    options: str | None = None

    @property
    def template(self) -> bool:
        """Kamal renders a local file ending in `erb` with the accessory's env before upload."""
        return self.local.name.endswith("erb")


@dataclass(frozen=True)
class AccessoryDirectory:
    """A directory created at `host_path` (relative to the SSH user's home, or absolute)."""

    local: str
    host_path: str
    remote: str
    mode: str | None = None
    owner: str | None = None
    options: str | None = None


@dataclass(frozen=True)
class Accessory:
    """A long-running service (database, cache) beside the app."""

    name: str
    service_name: str
    image: str
    hosts: tuple[str, ...]
    registry: Registry | None = None
    cmd: str | None = None
    port: str | None = None
    labels: Mapping[str, str] = field(default_factory=frozen)
    options: Mapping[str, Any] = field(default_factory=frozen)
    env: Env = field(default_factory=Env)
    files: tuple[AccessoryFile, ...] = ()
    directories: tuple[AccessoryDirectory, ...] = ()
    volumes: tuple[str, ...] = ()
    network: str = defaults.DOCKER_NETWORK
    proxy: Proxy | None = None

    @property
    def running_proxy(self) -> bool:
        """Accessories run behind kamal-proxy only with their own `proxy:` hash."""
        return self.proxy is not None

    def named_by_destination(self, destination: str | None) -> Accessory:
        """This accessory with the destination in its host-side names (x-kdeploy option).

        `<service_name>-<destination>` names the container and its `service` label (reserved:
        the config cannot set it) and, as in Kamal, the host directory of its directories and
        files; named volumes get `-<destination>`. Absolute host paths stay as written.
        Without a destination the accessory is returned unchanged (Kamal's names).
        """
        if not destination:
            return self
        service_name = f"{self.service_name}-{destination}"
        return dataclasses.replace(
            self, service_name=service_name,
            labels=frozen({**self.labels, "service": service_name}),
            files=tuple(dataclasses.replace(f, host_path=service_name + f.remote)
                        for f in self.files),
            directories=tuple(_directory_for(d, service_name) for d in self.directories),
            volumes=tuple(_volume_for(v, destination) for v in self.volumes),
        )


def validate_accessory(name: str, raw: Any, role_names: tuple[str, ...]) -> None:
    """Check one accessory: the example, one placement key, labels, options, roles, env, proxy.

    Then kdeploy's own rule: it has an image.
    """
    context = f"accessories/{name}"
    validator = Validator(context)
    problem = name_problem("accessory", name)
    if problem:
        validator.error(problem)
    validator.against_example(raw, example("accessory")["accessories"]["mysql"])
    _validate_service_name(validator, raw.get("service"))
    if sum(key in raw for key in _PLACEMENTS) != 1:
        validator.error("specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
    validator.labels(raw.get("labels"))
    validator.docker_options(raw.get("options"))
    _validate_roles(validator, raw, role_names)
    _validate_paths(validator, raw)
    validate_env(raw.get("env", {}), f"{context}/env")
    if present(raw.get("proxy")):
        validate_proxy(raw["proxy"], f"{context}/proxy")
    if present(raw.get("registry")):
        validate_registry(raw["registry"], f"{context}/registry")
    if not present(raw.get("image")):
        # Kamal 2.11 loads it and runs `docker run ''` at boot; refused here, after its rules.
        validator.error("Missing required configuration for image")


def _validate_service_name(validator: Validator, service: Any) -> None:
    # `service:` replaces `<service>-<name>` as the container name and the host directory.
    problem = None if service is None else name_problem("accessory service", ruby_str(service))
    if problem:
        with validator.within("service"):
            validator.error(problem)


def _validate_roles(validator: Validator, raw: Mapping[str, Any],
                    role_names: tuple[str, ...]) -> None:
    # Ruby truthiness: 0 and [] count as set, only nil and false do not.
    if truthy(raw.get("roles")):
        missing = [ruby_str(r) for r in raw["roles"] if ruby_str(r) not in role_names]
        if missing:
            validator.error(f"unknown roles {', '.join(missing)}")
    elif truthy(raw.get("role")) and ruby_str(raw["role"]) not in role_names:
        validator.error(f"unknown role {ruby_str(raw['role'])}")


def _validate_paths(validator: Validator, raw: Mapping[str, Any]) -> None:
    # Kamal crashes on a path without a remote side; say which entry instead.
    for key in ("files", "directories"):
        for index, entry in enumerate(raw.get(key) or ()):
            with validator.within(f"{key}/{index}"):
                if isinstance(entry, dict) and not (entry.get("local") and entry.get("remote")):
                    validator.error("local and remote are required")
                if not isinstance(entry, dict) and ":" not in ruby_str(entry):
                    validator.error("should be local:remote[:options]")


def build_accessory(name: str, raw: Mapping[str, Any], *, service: str, project_dir: Path,
                    hosts: tuple[str, ...]) -> Accessory:
    """Build an Accessory from its validated slice; `hosts` comes from `accessory_hosts`."""
    service_name = ruby_str(raw.get("service") or f"{service}-{name}")
    registry = build_registry(raw["registry"]) if present(raw.get("registry")) else None
    image = "/".join(p for p in (registry and registry.server, ruby_str(raw.get("image"))) if p)
    return Accessory(
        name=name, service_name=service_name, image=image, hosts=hosts, registry=registry,
        cmd=ruby_str(raw["cmd"]) if raw.get("cmd") is not None else None,
        port=_port(raw.get("port")),
        labels=frozen({"service": service_name, **str_map(raw.get("labels"))}),
        options=frozen(raw.get("options") or {}),
        env=build_env(raw.get("env")),
        files=tuple(_file(item, service_name, project_dir) for item in raw.get("files") or ()),
        directories=tuple(_directory(item, service_name) for item in raw.get("directories") or ()),
        volumes=tuple(ruby_str(v) for v in raw.get("volumes") or ()),
        network=ruby_str(raw.get("network") or defaults.DOCKER_NETWORK),
        proxy=build_proxy(raw["proxy"]) if present(raw.get("proxy")) else None,
    )


def accessory_hosts(raw: Mapping[str, Any], role_hosts: Callable[[str], tuple[str, ...]],
                    servers: Any) -> tuple[str, ...]:
    """Kamal's `hosts_from_host || hosts_from_hosts || hosts_from_roles || hosts_from_tags`."""
    if "host" in raw:
        found = [raw["host"]]
    elif "hosts" in raw:
        found = list(raw["hosts"] or [])
    elif "role" in raw or "roles" in raw:
        names = [raw["role"]] if "role" in raw else list(raw["roles"] or [])
        found = [host for role in names for host in role_hosts(ruby_str(role))]
    else:
        tags = [raw["tag"]] if "tag" in raw else list(raw["tags"] or [])
        found = [host for tag in tags for host in _hosts_with_tag(servers, ruby_str(tag))]
    return tuple(_host_names(found))


def _hosts_with_tag(servers: Any, tag: str) -> list[Any]:
    # Kamal only looks at simple-list roles: `hosts:`-form roles match nothing, and list-form
    # `servers` crash in Kamal (reported as a config error here, see validate_tag_placement).
    if not isinstance(servers, dict):
        return []
    found = []
    for entries in servers.values():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict):
                host, tags = next(iter(entry.items()))
                if tag in str_list(tags):
                    found.append(host)
    return found


def _host_names(hosts: list[Any]) -> list[str]:
    # Hosts may be written with tags even here (the validator allows it); keep the names.
    names = [ruby_str(next(iter(h))) if isinstance(h, dict) else ruby_str(h) for h in hosts]
    return list(dict.fromkeys(names))


def _port(value: Any) -> str | None:
    if value is None:
        return None
    port = ruby_str(value)
    return port if ":" in port else f"{port}:{port}"


def _path_entry(entry: Any) -> tuple[str, str, dict[str, Any]]:
    if isinstance(entry, dict):
        local, remote = ruby_str(entry.get("local")), ruby_str(entry.get("remote"))
        extra = {k: (ruby_str(entry[k]) if entry.get(k) is not None else None)
                 for k in ("mode", "owner", "options")}
        return local, remote, extra
    local, remote, options = ([*ruby_str(entry).split(":", 2), None])[:3]
    return local, remote, {"mode": None, "owner": None, "options": options}


def _file(entry: Any, service_name: str, project_dir: Path) -> AccessoryFile:
    local, remote, extra = _path_entry(entry)
    return AccessoryFile(local=(project_dir / local).resolve(), host_path=service_name + remote,
                         remote=remote, mode=extra["mode"] or "755", owner=extra["owner"],
                         options=extra["options"])


def _directory(entry: Any, service_name: str) -> AccessoryDirectory:
    local, remote, extra = _path_entry(entry)
    host_path = local if PurePosixPath(local).is_absolute() else f"{service_name}/{local}"
    return AccessoryDirectory(local=local, host_path=host_path, remote=remote, **extra)


def _directory_for(directory: AccessoryDirectory, service_name: str) -> AccessoryDirectory:
    if PurePosixPath(directory.local).is_absolute():
        return directory
    return dataclasses.replace(directory, host_path=f"{service_name}/{directory.local}")


def _volume_for(volume: str, destination: str) -> str:
    # `data:/var/lib/mysql[:ro]` names a volume; `/srv/db:/var/lib/mysql` is a host path.
    source, separator, rest = volume.partition(":")
    if separator and _NAMED_VOLUME.match(source):
        return f"{source}-{destination}:{rest}"
    return volume
