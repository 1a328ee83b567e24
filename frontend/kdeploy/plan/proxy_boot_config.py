"""Plan Kamal 2.11's deprecated `proxy boot_config set|get|reset` (docs/proxy.md).

Kamal runs it on its proxy hosts without the deploy lock: `set` writes the files a kamal-proxy
booted without `proxy/run` reads (host_contract/proxy_boot_config.py), `get` prints them (or the
defaults) per host, `reset` removes them. The caddy engine has no such files: it is configured in
the deploy config (`x-kdeploy/proxy`, `proxy/run`), so the command refuses it. Pure: a command's
context and options in, a Plan out.
"""

from __future__ import annotations

from typing import Any

from kdeploy.errors import UsageError
from kdeploy.host_contract.proxy_boot_config import (
    BootConfigOptions,
    boot_config_files,
    read_command,
)
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.model import Plan
from kdeploy.plan.proxy import proxy_part, proxy_targets
from kdeploy.selection import CommandContext

ACTIONS = ("set", "get", "reset")
PART = "proxy_boot_config.yml"
REPORT_TASK = "Read the proxy boot config."


def build_proxy_boot_config_plan(context: CommandContext, action: str,
                                 options: BootConfigOptions | None = None) -> Plan:
    """Plan `proxy boot_config ACTION` on the filtered proxy hosts (no lock, as in Kamal).

    Raises:
        UsageError: an unknown subcommand, the caddy engine, an invalid `--publish-host-ip`, or
            no proxy host inside the filters.
    """
    if action not in ACTIONS:
        raise UsageError(f"Unknown boot_config subcommand {action} "
                         f"(options: {', '.join(ACTIONS)})")
    config = context.config
    if config.extension.proxy.caddy:
        raise UsageError(
            "proxy boot_config: the caddy engine has no boot config files; configure its "
            "image in x-kdeploy/proxy (image) and its ports, logging and options in proxy/run "
            "of the deploy config, then run `kdeploy proxy reboot`")
    hosts = proxy_targets(config, context.selection)
    if not hosts:
        raise UsageError("No proxy hosts inside the filters: no selected role runs behind the "
                         "proxy (Kamal: the primary role unless `proxy: false`)")
    extravars: dict[str, Any] = {"proxy_boot_config_action": action}
    if action == "set":
        extravars["proxy_boot_config_files"] = boot_config_files(options or BootConfigOptions())
    if action == "get":
        extravars["proxy_boot_config_read"] = read_command()
    return Plan(
        command=f"proxy boot_config {action}",
        imports=(proxy_part(PART, hosts),),
        limit=",".join(hosts),
        extravars=extravars,
        entry="kdeploy_proxy_boot_config",
        report_task=REPORT_TASK if action == "get" else None,
        hook_points=connect_points(),
    )
