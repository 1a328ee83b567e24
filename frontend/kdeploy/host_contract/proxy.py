"""The proxy as the hosts see it: per-host proxy container data and per-role proxy data.

The shape is the inventory contract (`kdeploy_proxy` host var, `kdeploy_app_roles[r].proxy`,
docs/ansible-interface.md). The engine is `x-kdeploy/proxy/engine`: kamal-proxy (Kamal's argv,
kamal_proxy.py) or caddy (caddy.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kdeploy.config import defaults
from kdeploy.host_contract import caddy, kamal_proxy
from kdeploy.host_contract.names import secret_env_var
from kdeploy.host_contract.proxy_boot_config import host_boot_config

if TYPE_CHECKING:
    from kdeploy.config.model import Config
    from kdeploy.config.role import Role

DEFAULT_HEALTHCHECK = {"path": defaults.HEALTHCHECK_PATH, "interval": defaults.HEALTHCHECK_INTERVAL,
                       "timeout": defaults.HEALTHCHECK_TIMEOUT}


def host_proxy(config: Config, host: str) -> dict[str, Any]:
    """The `kdeploy_proxy` host var: the proxy container on `host` (engine, image, run argv)."""
    run = config.proxy_run(host)
    engine = config.extension.proxy
    if engine.caddy:
        assert engine.image is not None
        return {
            "engine": engine.engine,
            "container": caddy.CONTAINER,
            "image": engine.image,
            "run_args": caddy.run_args(run, engine.image),
            "directories": [caddy.DIRECTORY],
            "files": [{"path": caddy.CONFIG_FILE,
                       "content": caddy.initial_config_text(), "mode": "0600"},
                      {"path": caddy.FRONT_FILE,
                       "content": caddy.front_config_text(), "mode": "0600"}],
            "image_title": None,
            "admin_socket": caddy.ADMIN_SOCKET,
            "boot_config": None,
            # Checked before a deploy: the image's `caddy version` must be at least this.
            "minimum_version": caddy.MINIMUM_VERSION,
        }
    return {
        "engine": engine.engine,
        "container": kamal_proxy.CONTAINER,
        "image": kamal_proxy.image(run),
        "run_args": kamal_proxy.run_args(run),
        "directories": [kamal_proxy.APPS_DIRECTORY],
        "files": [],
        "image_title": "kamal-proxy",
        "admin_socket": None,
        # Without `proxy/run`, Kamal boots from the boot_config files on the host (or defaults).
        "boot_config": (host_boot_config(kamal_proxy.legacy_run_prefix())
                        if run is None else None),
    }


def role_proxy(config: Config, role: Role) -> dict[str, Any] | None:
    """`kdeploy_app_roles[role].proxy`: how a release registers the role (None: no proxy)."""
    proxy = role.proxy
    if not role.running_proxy or proxy is None:
        return None
    healthcheck = proxy.raw.get("healthcheck")
    healthcheck = healthcheck if isinstance(healthcheck, Mapping) else {}
    on_caddy = config.extension.proxy.caddy
    return {
        "service": role.container_prefix,
        "app_port": int(proxy.app_port),
        "healthcheck": {key: default if healthcheck.get(key) is None else healthcheck[key]
                        for key, default in DEFAULT_HEALTHCHECK.items()},
        "deploy_args": None if on_caddy else kamal_proxy.deploy_args(config, role),
        "route": caddy.route(role.container_prefix, proxy) if on_caddy else None,
        "tls": None if on_caddy else _tls(config, role),
    }


def _tls(config: Config, role: Role) -> dict[str, Any] | None:
    # Kamal's SslCertificates step: the role's certificate and key, from secrets, under
    # .kamal/proxy/apps-config/<service>/tls/<role>/ (mounted into kamal-proxy).
    proxy = role.proxy
    if proxy is None or not proxy.custom_ssl_certificate:
        return None
    ssl = proxy.raw["ssl"]
    directory = f"{kamal_proxy.app_directory(config)}/tls/{role.name}"
    certificate, key = str(ssl["certificate_pem"]), str(ssl["private_key_pem"])
    return {"directory": directory,
            "certificate_path": f"{directory}/cert.pem", "private_key_path": f"{directory}/key.pem",
            "certificate_pem_secret": certificate, "private_key_pem_secret": key,
            "certificate_pem_env": secret_env_var(certificate),
            "private_key_pem_env": secret_env_var(key)}


def error_pages(config: Config) -> dict[str, str] | None:
    """`kdeploy_error_pages`: where kamal-proxy's error pages come from and go (None: none).

    Kamal's app boot uploads `error_pages_path`'s `4??.html` and `5??.html` to
    `.kamal/proxy/apps-config/<service>/error_pages/<version>/` on the app hosts.
    """
    if not config.error_pages_path or not config.proxy_roles or config.extension.proxy.caddy:
        return None
    return {"source": str(config.project_dir / config.error_pages_path),
            "directory": f"{kamal_proxy.app_directory(config)}/error_pages"}
