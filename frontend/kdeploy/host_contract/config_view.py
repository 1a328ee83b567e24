"""`kdeploy config`'s data: the resolved config, and what its proxy engine gives the hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kdeploy.config.proxy_support import check_engine
from kdeploy.host_contract.proxy import host_proxy, role_proxy

if TYPE_CHECKING:
    from kdeploy.config import Config, Role


def config_view(config: Config, redact: bool = True) -> dict[str, Any]:
    """The config as `kdeploy config` prints it, with the proxy's data for the hosts.

    Kamal's keys, plus `proxy_engine` and each role's `proxy` (the `kamal-proxy deploy`
    arguments or the Caddy route).

    Raises:
        ConfigError: a `proxy:` key the proxy engine cannot honour (names the file and key).
    """
    check_engine(config, name_file=True)
    return config.to_dict(redact=redact, host_view=ProxyView(config))


@dataclass(frozen=True)
class ProxyView:
    """The proxy's data as the inventory carries it (a HostView for Config.to_dict)."""

    config: Config

    def role_proxy(self, role: Role) -> dict[str, Any] | None:
        """`kdeploy_app_roles[role].proxy`."""
        return role_proxy(self.config, role)

    def proxy_engine(self) -> dict[str, Any]:
        """The engine, and per proxy host the container and image it runs.

        kamal-proxy's image can differ by host: Kamal reads `proxy/run` per host.
        """
        hosts = {}
        for host in self.config.proxy_hosts:
            data = host_proxy(self.config, host)
            hosts[host] = {"container": data["container"], "image": data["image"]}
        return {"engine": self.config.extension.proxy.engine, "hosts": hosts}
