"""The whole deploy config as one frozen object (Kamal's Configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.config import defaults
from kdeploy.config.accessory import Accessory
from kdeploy.config.boot import Boot
from kdeploy.config.builder import Builder
from kdeploy.config.env import Env
from kdeploy.config.extension import KdeployExtension
from kdeploy.config.logging import Logging
from kdeploy.config.proxy import Proxy
from kdeploy.config.registry import Registry
from kdeploy.config.role import Role
from kdeploy.config.serialize import (
    HostView,
    accessory_data,
    env_data,
    plain,
    registry_data,
    role_data,
)
from kdeploy.config.ssh import Ssh, Sshkit
from kdeploy.config.values import frozen, thaw
from kdeploy.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from kdeploy.config.secrets import Secrets


@dataclass(frozen=True)
class Config:
    """A loaded, validated config; nothing downstream reads raw YAML."""

    config_file: Path
    project_dir: Path
    destination: str | None
    service: str
    image: str
    version: str | None
    registry: Registry
    roles: tuple[Role, ...]  # primary role first, then alphabetical
    accessories: tuple[Accessory, ...]  # config order
    all_hosts: tuple[str, ...]
    primary_role_name: str = "web"
    env: Env = field(default_factory=Env)
    ssh: Ssh = field(default_factory=Ssh)
    sshkit: Sshkit = field(default_factory=Sshkit)
    builder: Builder = field(default_factory=Builder)
    boot: Boot = field(default_factory=Boot)
    logging: Logging = field(default_factory=Logging)
    proxy: Proxy = field(default_factory=Proxy)
    labels: Mapping[str, str] = field(default_factory=frozen)
    volumes: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=frozen)
    readiness_delay: int = defaults.READINESS_DELAY
    deploy_timeout: int = defaults.DEPLOY_TIMEOUT
    drain_timeout: int = defaults.DRAIN_TIMEOUT
    retain_containers: int = defaults.RETAIN_CONTAINERS
    allow_empty_roles: bool = False
    require_destination: bool = False
    minimum_version: str | None = None
    asset_path: str | None = None
    hooks_path: str = ".kamal/hooks"
    hooks_output: str | Mapping[str, str] | None = None
    secrets_path: str = ".kamal/secrets"
    error_pages_path: str | None = None
    extension: KdeployExtension = field(default_factory=KdeployExtension)
    # Lazy: nothing is read until a secret is looked up. Excluded from equality and repr.
    secrets: Secrets | None = field(default=None, compare=False, repr=False)

    @property
    def repository(self) -> str:
        """The image with the registry server in front (`localhost:5000/app`)."""
        return "/".join(p for p in (self.registry.server, self.image) if p)

    @property
    def absolute_image(self) -> str:
        """`<repository>:<version>`; needs a version."""
        if self.version is None:
            raise ConfigError(
                f"{self.config_file}: no version: pass --version, set $VERSION, or commit to git"
            )
        return f"{self.repository}:{self.version}"

    @property
    def latest_tag(self) -> str:
        """`latest`, or `latest-<destination>`."""
        return "-".join(p for p in ("latest", self.destination) if p)

    @property
    def latest_image(self) -> str:
        """`<repository>:latest[-<destination>]`."""
        return f"{self.repository}:{self.latest_tag}"

    @property
    def service_with_version(self) -> str:
        """`<service>-<version>` (as Kamal prints it, even without a version)."""
        return f"{self.service}-{self.version or ''}"

    @property
    def service_with_destination(self) -> str:
        """`<service>[-<destination>]`: app dir, lock and audit names on the hosts."""
        return "-".join(p for p in (self.service, self.destination) if p)

    @property
    def primary_role(self) -> Role:
        """The role whose first host holds the lock and boots first."""
        return self.role(self.primary_role_name)

    @property
    def primary_host(self) -> str:
        """The first host of the primary role."""
        return self.primary_role.hosts[0]

    @property
    def app_hosts(self) -> tuple[str, ...]:
        """Hosts of every role, de-duplicated."""
        return tuple(dict.fromkeys(h for role in self.roles for h in role.hosts))

    @cached_property
    def host_tags(self) -> Mapping[str, tuple[str, ...]]:
        """Host -> its Kamal tags (from every role it is in).

        Cached: the inventory reads it once per host, which made 1,000 hosts cost a second.
        """
        tags: dict[str, tuple[str, ...]] = {}
        for role in self.roles:
            for host, host_tags in role.host_tags.items():
                tags[host] = tuple(dict.fromkeys((*tags.get(host, ()), *host_tags)))
        return frozen(tags)

    @property
    def forks(self) -> int:
        """How many hosts Ansible works on at once (`forks` in the generated ansible.cfg).

        `x-kdeploy/forks`, else Kamal's `sshkit/max_concurrent_starts` (default 30). Ansible
        opens a host's connection in the fork that works on it, so forks bound both the parallel
        work and the connection starts; Kamal's setting, tuned for the same sshd `MaxStartups`
        or bastion, is the bound Kamal users already chose.
        """
        return self.extension.forks or max(1, self.sshkit.max_concurrent_starts)

    @property
    def proxy_roles(self) -> tuple[Role, ...]:
        """Roles that run behind kamal-proxy."""
        return tuple(role for role in self.roles if role.running_proxy)

    @property
    def proxy_hosts(self) -> tuple[str, ...]:
        """Hosts that run the proxy: the proxy roles' hosts, roles in Kamal's (name) order."""
        roles = sorted(self.proxy_roles, key=lambda role: role.name)
        return tuple(dict.fromkeys(host for role in roles for host in role.hosts))

    def proxy_runs(self, host: str) -> list[Mapping[str, Any]]:
        """The `proxy/run` hashes of the roles (by name) and accessories on `host`."""
        roles = sorted(self.roles, key=lambda role: role.name)
        groups = [*(role for role in roles if host in role.hosts),
                  *(acc for acc in self.accessories if host in acc.hosts)]
        return [group.proxy.run for group in groups if group.proxy is not None and group.proxy.run]

    def proxy_run(self, host: str) -> Mapping[str, Any] | None:
        """Kamal's `config.proxy_run(host)`: the `proxy/run` that applies on `host` (None: none).

        All of a host's runs are equal (checks.py raises `Conflicting proxy run configurations`).
        """
        runs = self.proxy_runs(host)
        return runs[0] if runs else None

    def role(self, name: str) -> Role:
        """Return the role called `name`.

        Raises:
            UsageError: no such role.
        """
        for role in self.roles:
            if role.name == name:
                return role
        raise UsageError(f"No role named {name}")

    def accessory(self, name: str) -> Accessory:
        """Return the accessory called `name`.

        Raises:
            UsageError: no such accessory.
        """
        for accessory in self.accessories:
            if accessory.name == name:
                return accessory
        raise UsageError(f"No accessory by the name of '{name}'")

    def to_dict(self, redact: bool = True, host_view: HostView | None = None) -> dict[str, Any]:
        """The resolved config for `kdeploy config`, in Kamal's words; secrets by name only.

        Args:
            redact: show a registry password given in clear as [REDACTED] (secret values are
                never looked up here).
            host_view: what the hosts make of the config (host_contract/config_view.py); it adds
                `proxy_engine` and each role's `proxy`, which are left out without it.
        """
        return {
            "service": self.service,
            "destination": self.destination,
            "image": self.image,
            "repository": self.repository,
            "version": self.version,
            "absolute_image": self.absolute_image if self.version else None,
            "service_with_version": self.service_with_version,
            "latest_tag": self.latest_tag,
            "primary_role": self.primary_role_name,
            "primary_host": self.primary_host if self.roles else None,
            "roles": [role_data(role, host_view) for role in self.roles],
            "hosts": list(self.all_hosts),
            "accessories": [accessory_data(a, redact) for a in self.accessories],
            "registry": {**registry_data(self.registry, redact), "local": self.registry.local},
            "env": env_data(self.env),
            "volumes": list(self.volumes),
            "labels": dict(self.labels),
            "logging": plain(self.logging),
            "ssh": plain(self.ssh),
            "sshkit": thaw(self.sshkit.raw),
            "builder": thaw(self.builder.raw),
            "boot": plain(self.boot),
            "proxy": thaw(self.proxy.raw),
            **({"proxy_engine": host_view.proxy_engine()} if host_view is not None else {}),
            "aliases": dict(self.aliases),
            "readiness_delay": self.readiness_delay,
            "deploy_timeout": self.deploy_timeout,
            "drain_timeout": self.drain_timeout,
            "retain_containers": self.retain_containers,
            "hooks_path": self.hooks_path,
            "secrets_path": self.secrets_path,
            "asset_path": self.asset_path,
            "error_pages_path": self.error_pages_path,
            "x-kdeploy": plain(self.extension),
        }
