"""Which `proxy:` keys the configured proxy engine honours (`x-kdeploy/proxy/engine`).

kamal-proxy honours every key Kamal has. The caddy engine cannot honour some of them; each such key
is a config error naming its key path and the reason, never a silent drop (docs/config.md lists
them). What the engines make of the keys they honour is the host contract's concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kdeploy.config.extension import KEY
from kdeploy.errors import ConfigError

if TYPE_CHECKING:
    from kdeploy.config.model import Config
    from kdeploy.config.proxy import Proxy

# Key paths (under a `proxy:` hash) Caddy cannot honour, and why; `True` = only a truthy value.
UNSUPPORTED: tuple[tuple[tuple[str, ...], bool, str], ...] = (
    (("ssl",), True, "TLS is kamal-proxy's (Let's Encrypt or custom certificates)"),
    (("ssl_redirect",), False, "only meaningful with ssl"),
    (("buffering", "memory"), False, "Caddy buffers in memory only"),
    (("logging",), False, "request/response header logging is kamal-proxy's"),
    (("run", "metrics_port"), False, "kamal-proxy's Prometheus metrics"),
    (("run", "debug"), True, "kamal-proxy's debug logging"),
    (("run", "registry"), False, "pin Caddy's image with x-kdeploy/proxy/image"),
    (("run", "repository"), False, "pin Caddy's image with x-kdeploy/proxy/image"),
    (("run", "version"), False, "pin Caddy's image with x-kdeploy/proxy/image"),
)


def unsupported_keys(proxy: Proxy) -> list[tuple[tuple[str, ...], str]]:
    """The key paths of `proxy` Caddy cannot honour, with the reason, in UNSUPPORTED's order."""
    found = []
    for path, truthy_only, reason in UNSUPPORTED:
        if not proxy.has(*path):
            continue
        value = proxy.get(*path)
        if truthy_only and (value is None or value is False):
            continue
        if not truthy_only and isinstance(value, Mapping) and value:  # logging/request_headers
            path = (*path, str(next(iter(value))))
        found.append((path, reason))
    return found


def check_engine(config: Config, *, name_file: bool = False) -> None:
    """Refuse `proxy:` keys the configured engine cannot honour (the caddy engine).

    Args:
        config: the built config.
        name_file: start the message with the config file (load_config adds it otherwise).

    Raises:
        ConfigError: `<key path>: ...` naming the first such key and the engine.
    """
    try:
        _check_engine(config)
    except ConfigError as error:
        if not name_file:
            raise
        raise ConfigError(f"{config.config_file}: {error.message}") from None


def _check_engine(config: Config) -> None:
    if not config.extension.proxy.caddy:
        return
    engine = f"the caddy proxy engine ({KEY}/proxy/engine)"
    for role in sorted(config.proxy_roles, key=lambda role: role.name):
        assert role.proxy is not None
        for path, reason in unsupported_keys(role.proxy):
            where = f"servers/{role.name}/proxy" if role.proxy.written_by_role(*path) else "proxy"
            raise ConfigError(f"{where}/{'/'.join(path)}: not supported by {engine}: {reason}")
    if config.proxy_roles and config.error_pages_path:
        raise ConfigError(f"error_pages_path: not supported by {engine}: "
                          "error pages are kamal-proxy's")
    for accessory in config.accessories:
        if accessory.running_proxy:
            raise ConfigError(f"accessories/{accessory.name}/proxy: not supported by {engine}: "
                              "kdeploy routes only app roles through Caddy")
