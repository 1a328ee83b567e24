"""`ssh:` and `sshkit:`: how kdeploy reaches the hosts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config import defaults
from kdeploy.config.docs import example
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str


@dataclass(frozen=True)
class Ssh:
    """SSH connection settings; `key_data` holds secret names, never key material."""

    user: str = "root"
    port: int = 22
    proxy: str | None = None
    proxy_command: str | None = None
    keys: tuple[str, ...] = ()
    keys_only: bool | None = None
    config: bool | str | tuple[str, ...] | None = None
    log_level: str = "fatal"
    key_data: tuple[str, ...] = ()
    # Kamal 2.12: false turns off the agent forwarding sshkit always asks for.
    forward_agent: bool = True


@dataclass(frozen=True)
class Sshkit:
    """Connection tuning: Kamal's defaults; kdeploy maps them onto Ansible forks and retries."""

    max_concurrent_starts: int = defaults.MAX_CONCURRENT_STARTS
    pool_idle_timeout: int = 900
    dns_retries: int = 3
    raw: Mapping[str, Any] = field(default_factory=frozen)


def validate_ssh(raw: Any) -> None:
    """Check `ssh:` against the documented example, and that the port is a number."""
    validator = Validator("ssh")
    validator.against_example(raw, example("ssh")["ssh"])
    port = raw.get("port", 22)
    # Kamal accepts any scalar and fails when connecting; Ansible needs a number now.
    if isinstance(port, bool) or not ruby_str(port).isdigit():
        with validator.within("port"):
            validator.error("should be an integer")


def validate_sshkit(raw: Any) -> None:
    """Check `sshkit:` against the documented example."""
    Validator("sshkit").against_example(raw, example("sshkit")["sshkit"])


def build_ssh(raw: Mapping[str, Any] | None) -> Ssh:
    """Build Ssh from a validated hash (`root@` is prepended to a proxy without a user)."""
    raw = raw or {}
    proxy = _optional_str(raw.get("proxy"))
    if proxy and "@" not in proxy:
        proxy = f"root@{proxy}"
    config = raw.get("config")
    return Ssh(
        user=ruby_str(raw.get("user", "root")),
        port=int(ruby_str(raw.get("port", 22))),
        proxy=proxy,
        proxy_command=_optional_str(raw.get("proxy_command")),
        keys=tuple(ruby_str(key) for key in raw.get("keys") or ()),
        keys_only=raw.get("keys_only"),
        config=tuple(config) if isinstance(config, list) else config,
        log_level=ruby_str(raw.get("log_level", "fatal")),
        key_data=tuple(ruby_str(name) for name in raw.get("key_data") or ()),
        forward_agent=raw.get("forward_agent") is not False,
    )


def build_sshkit(raw: Mapping[str, Any] | None) -> Sshkit:
    """Build Sshkit from a validated hash."""
    raw = raw or {}
    return Sshkit(
        max_concurrent_starts=raw.get("max_concurrent_starts", defaults.MAX_CONCURRENT_STARTS),
        pool_idle_timeout=raw.get("pool_idle_timeout", 900),
        dns_retries=raw.get("dns_retries", 3),
        raw=frozen(raw),
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else ruby_str(value)
