"""What an app boot of a selection needs and says besides its plays (setup and deploy share it).

The secrets the app boot reads, and the notices about what kdeploy does not do (yet) for the
selected accessories.
"""

from __future__ import annotations

from kdeploy.config import Config
from kdeploy.selection import Selection


def proxy_notices(config: Config, selection: Selection) -> tuple[str, ...]:
    """A notice per selected accessory Kamal runs behind kamal-proxy (kdeploy does not, yet)."""
    return tuple(
        f"Accessory {name} runs behind kamal-proxy in Kamal; kdeploy does not route accessories "
        "through the proxy yet, so it gets no proxy route"
        for name in selection.accessory_hosts if config.accessory(name).running_proxy)


def app_secret_names(config: Config, selection: Selection) -> tuple[str, ...]:
    """The secrets an app boot of the selection needs: registry login, roles' env, certificates."""
    names = list(config.registry.login_secret_names)
    for role in selection.roles:
        for host in selection.role_hosts.get(role.name, ()):
            names += role.env_for_host(host).secret.values()
        if role.running_proxy and role.proxy is not None and role.proxy.custom_ssl_certificate:
            # kamal-proxy's certificate and key for the role, written by the release.
            names += [str(role.proxy.raw["ssl"][key])
                      for key in ("certificate_pem", "private_key_pem")]
    return tuple(dict.fromkeys(names))
