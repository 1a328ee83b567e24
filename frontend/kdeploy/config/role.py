"""One role under `servers:` (Kamal's Configuration::Role): hosts, cmd, options, env, logging."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.env import Env, build_env, validate_env
from kdeploy.config.logging import Logging, build_logging, validate_logging
from kdeploy.config.names import name_problem
from kdeploy.config.proxy import Proxy, build_proxy, validate_proxy
from kdeploy.config.ruby import ARRAY, HASH, truthy
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str, str_list, str_map


@dataclass(frozen=True)
class Role:
    """A Kamal role with everything already merged from the root config."""

    name: str
    hosts: tuple[str, ...]
    primary: bool
    service: str
    destination: str | None = None
    host_tags: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)
    cmd: str | None = None
    options: Mapping[str, Any] = field(default_factory=frozen)
    labels: Mapping[str, str] = field(default_factory=frozen)  # root labels <- role labels
    env: Env = field(default_factory=Env)  # root env <- role env
    logging: Logging = field(default_factory=Logging)  # root <- role, Kamal's default if empty
    asset_path: str | None = None
    asset_path_options: str | None = None
    running_proxy: bool = False
    proxy: Proxy | None = None  # role proxy merged over the root proxy, when running it
    tag_envs: Mapping[str, Env] = field(default_factory=frozen)  # the root `env.tags`

    @property
    def primary_host(self) -> str | None:
        """The first host of the role."""
        return self.hosts[0] if self.hosts else None

    @property
    def container_prefix(self) -> str:
        """`<service>-<role>[-<destination>]`."""
        return "-".join(p for p in (self.service, self.name, self.destination) if p)

    def container_name(self, version: str) -> str:
        """`<service>-<role>[-<destination>]-<version>`."""
        return f"{self.container_prefix}-{version}"

    @property
    def container_labels(self) -> dict[str, str]:
        """Kamal's labels: service, role, destination ("" without one), then custom labels."""
        return {"service": self.service, "role": self.name,
                "destination": self.destination or "", **self.labels}

    def env_for_host(self, host: str) -> Env:
        """Root env <- role env <- the env of each tag the host carries, in tag order."""
        env = self.env
        for tag in self.host_tags.get(host, ()):
            if tag in self.tag_envs:
                env = env.merge(self.tag_envs[tag])
        return env


def validate_role(name: str, raw: Any) -> None:
    """Check one role: a host list, or a hash in the documented `workers` shape."""
    context = f"servers/{name}"
    validator = Validator(context)
    problem = name_problem("role", name)
    if problem:
        validator.error(problem)
    validator.of_type(raw, ARRAY, HASH)
    if isinstance(raw, list):
        validator.servers(raw)
        return
    validator.against_example(raw, example("role")["servers"]["workers"])
    validator.labels(raw.get("labels"))
    validator.docker_options(raw.get("options"))
    validate_env(raw.get("env", {}), f"{context}/env")
    validate_logging(raw.get("logging", {}), f"{context}/logging")


def running_proxy(raw: Any, primary: bool) -> bool:
    """Kamal's rule: the primary role runs the proxy unless `proxy: false`; others opt in."""
    setting = raw.get("proxy") if isinstance(raw, dict) else None
    # Ruby truthiness: `proxy: {}` on a secondary role still runs the proxy.
    return setting is not False if primary else truthy(setting)


def validate_role_proxy(name: str, raw: Any, primary: bool) -> None:
    """Check a role's own proxy hash (only when the role runs the proxy, as Kamal)."""
    if running_proxy(raw, primary):
        setting = raw.get("proxy") if isinstance(raw, dict) else None
        validate_proxy({} if setting in (True, None) else setting, f"servers/{name}/proxy")


def tagged_hosts(raw: Any) -> dict[str, tuple[str, ...]]:
    """Host -> tags, from a validated host list (`- h1`, `- h2: tag`, `- h3: [a, b]`)."""
    hosts: dict[str, tuple[str, ...]] = {}
    entries = raw if isinstance(raw, list) else (raw or {}).get("hosts") or []
    for entry in entries:
        if isinstance(entry, dict):
            host, tags = next(iter(entry.items()))
            hosts[ruby_str(host)] = str_list(tags)
        elif isinstance(entry, str):  # Kamal drops numbers and booleans here
            hosts[entry] = ()
    return hosts


def build_role(name: str, raw: Any, *, primary: bool, root: Mapping[str, Any]) -> Role:
    """Build a Role from its validated slice and the already-built root sections.

    Args:
        name: the role name.
        raw: the role's raw config (a host list or a hash).
        primary: whether this is the primary role.
        root: `service`, `destination`, `labels`, `env`, `logging`, `proxy`, `asset_path`.
    """
    spec = raw if isinstance(raw, dict) else {}
    hosts = tagged_hosts(raw)
    runs_proxy = running_proxy(spec, primary)
    asset = ruby_str(spec.get("asset_path") or root["asset_path"])
    asset_path, _, asset_options = asset.partition(":")
    return Role(
        name=name, hosts=tuple(hosts), primary=primary, host_tags=frozen(hosts),
        service=root["service"], destination=root["destination"],
        cmd=ruby_str(spec["cmd"]) if spec.get("cmd") is not None else None,
        options=frozen(spec.get("options") or {}),
        labels=frozen({**root["labels"], **str_map(spec.get("labels"))}),
        env=root["env"].merge(build_env(spec.get("env"))),
        logging=root["logging"].merge(build_logging(spec.get("logging"))).with_default(),
        asset_path=asset_path or None, asset_path_options=asset_options or None,
        running_proxy=runs_proxy, proxy=_role_proxy(spec, root["proxy"]) if runs_proxy else None,
        tag_envs=root["env"].tags,
    )


def _role_proxy(spec: Mapping[str, Any], root_proxy: Proxy) -> Proxy:
    setting = spec.get("proxy")
    own = build_proxy({} if setting in (True, None) else setting)
    return own.merge_over(root_proxy)


