"""The root `x-kdeploy:` key: settings only kdeploy reads (Kamal ignores root `x-*` keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str
from kdeploy.errors import ConfigError

KEY = "x-kdeploy"
KAMAL_PROXY = "kamal-proxy"
CADDY = "caddy"
PROXY_ENGINES = (KAMAL_PROXY, CADDY)
DEFAULT_CADDY_IMAGE = "caddy:2"


@dataclass(frozen=True)
class AccessoriesExtension:
    """`x-kdeploy/accessories`: how kdeploy names accessories on the hosts."""

    # Put the destination into accessory container names, volumes and directories, so that
    # several destinations' accessories can share a host (docs/accessory-destinations.md).
    name_by_destination: bool = False


@dataclass(frozen=True)
class ProxyExtension:
    """`x-kdeploy/proxy`: which proxy runs in front of the proxy roles (docs/config.md)."""

    engine: str = KAMAL_PROXY
    # Caddy's image; kamal-proxy's comes from Kamal's `proxy/run/registry|repository|version`.
    image: str | None = None

    @property
    def caddy(self) -> bool:
        """Whether the engine is Caddy (kdeploy's own) rather than Kamal's kamal-proxy."""
        return self.engine == CADDY


@dataclass(frozen=True)
class SshExtension:
    """`x-kdeploy/ssh`: how kdeploy's ssh treats host keys (docs/config.md, "Host keys")."""

    # Check host keys as Kamal does: accept and record an unknown host's key, refuse a changed
    # one. False turns checking off (INSECURE: anyone in the middle can take the connection).
    host_key_checking: bool = True


@dataclass(frozen=True)
class KdeployExtension:
    """kdeploy-only settings."""

    python_interpreter: str | None = None
    # How many hosts Ansible works on at once; None: Kamal's sshkit/max_concurrent_starts.
    forks: int | None = None
    # Run the plays with mitogen's strategies (docs/performance.md); KDEPLOY_MITOGEN overrides.
    mitogen: bool = False
    # Hook name (`pre-deploy`, `post-deploy`) -> the user's playbooks, relative to the project dir.
    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)
    accessories: AccessoriesExtension = field(default_factory=AccessoriesExtension)
    proxy: ProxyExtension = field(default_factory=ProxyExtension)
    ssh: SshExtension = field(default_factory=SshExtension)


def validate_extension(raw: Any) -> None:
    """Check `x-kdeploy:` against its documented example (unknown keys are errors)."""
    if raw is not None:
        Validator(KEY).against_example(raw, example(KEY)[KEY])
        if raw.get("forks") is not None and raw["forks"] < 1:
            raise ConfigError(f"{KEY}/forks: should be at least 1")
        _validate_proxy(raw.get("proxy"))


def _validate_proxy(raw: Any) -> None:
    if not raw:
        return
    engine = ruby_str(raw.get("engine", KAMAL_PROXY))
    if engine not in PROXY_ENGINES:
        raise ConfigError(f"{KEY}/proxy/engine: unknown proxy engine {engine!r}, "
                          f"expected one of: {', '.join(PROXY_ENGINES)}")
    if engine != CADDY and raw.get("image") is not None:
        raise ConfigError(f"{KEY}/proxy/image: only for the caddy engine; kamal-proxy's image "
                          "is Kamal's proxy/run/registry, repository and version")


def build_extension(raw: dict[str, Any] | None) -> KdeployExtension:
    """Build the extension settings from a validated hash."""
    raw = raw or {}
    interpreter = raw.get("python_interpreter")
    hooks = {str(name): tuple(str(path) for path in playbooks or ())
             for name, playbooks in (raw.get("hooks") or {}).items()}
    accessories = raw.get("accessories") or {}
    proxy = raw.get("proxy") or {}
    engine = ruby_str(proxy.get("engine", KAMAL_PROXY))
    image = ruby_str(proxy.get("image") or DEFAULT_CADDY_IMAGE) if engine == CADDY else None
    ssh = raw.get("ssh") or {}
    return KdeployExtension(python_interpreter=None if interpreter is None else str(interpreter),
                            forks=raw.get("forks"),
                            mitogen=bool(raw.get("mitogen", False)),
                            hooks=frozen(hooks),
                            accessories=AccessoriesExtension(
                                name_by_destination=bool(accessories.get("name_by_destination"))),
                            proxy=ProxyExtension(engine=engine, image=image),
                            ssh=SshExtension(
                                host_key_checking=bool(ssh.get("host_key_checking", True))))
