"""Plan Kamal's `app maintenance` and `app live` (docs/app-commands.md).

Kamal 2.11 (lib/kamal/cli/app.rb) takes the deploy lock and, on the filtered proxy hosts, runs
for every filtered role behind the proxy `docker exec kamal-proxy kamal-proxy stop <service>
--drain-timeout=<n>s [--message=<msg>]` (maintenance) or `... resume <service>` (live). The
caddy engine gets the same through its route (`kdeploy.deploy.proxy_route`). Pure: a command's
context and options in, a Plan out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.errors import UsageError
from kdeploy.host_contract.kamal_proxy import stop_args
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.selection import CommandContext

ACTIONS = ("maintenance", "live")


@dataclass(frozen=True)
class MaintenanceOptions:
    """`app maintenance` options (Kamal's): None takes the config's drain_timeout."""

    drain_timeout: int | float | None = None
    message: str | None = None


def build_app_maintenance_plan(context: CommandContext, action: str,
                               options: MaintenanceOptions = MaintenanceOptions()) -> Plan:
    """Plan `app maintenance` or `app live` on the filtered proxy hosts, under the lock.

    Raises:
        UsageError: an unknown action, no role behind the proxy inside the filters, or no
            version for the lock details.
    """
    if action not in ACTIONS:
        raise UsageError(f"Unknown app action {action}")
    config, selection = context.config, context.selection
    hosts = _proxy_hosts(context)
    if not hosts:
        raise UsageError("No proxy hosts inside the filters: no selected role runs behind the "
                         "proxy (Kamal: the primary role unless `proxy: false`)")
    extravars: dict[str, Any] = {"app_ops_roles": list(selection.role_names)}
    if action == "maintenance":
        drain_timeout = (options.drain_timeout if options.drain_timeout is not None
                         else config.drain_timeout)
        extravars |= {
            "app_ops_proxy_stop_args": stop_args(drain_timeout, options.message),
            "app_ops_maintenance_message": options.message or "",
            "app_ops_maintenance_drain_timeout": drain_timeout,
        }
    part = f"app_{action}.yml"
    # The lock play targets the filtered primary host by name: it must be inside the limit.
    limit = dict.fromkeys((*hosts, selection.primary_host))
    return Plan(
        command=f"app {action}",
        imports=(PlaybookImport("lock_acquire.yml", ("lock",)), PlaybookImport(part, ("app",)),
                 PlaybookImport("lock_release.yml", ("lock",))),
        limit=",".join(host for host in limit if host),
        extravars=extravars | command_lock_vars(config, selection, context.performer),
        lock_host=selection.primary_host,
        entry=f"kdeploy_app_{action}",
        hook_points=connect_points(),
    )


def _proxy_hosts(context: CommandContext) -> tuple[str, ...]:
    # Kamal: on_roles(KAMAL.roles, hosts: KAMAL.proxy_hosts), acting where role.running_proxy?.
    selection = context.selection
    chosen, roles = set(selection.hosts), set(selection.role_names)
    hosts = [host for role in context.config.proxy_roles if role.name in roles
             for host in role.hosts if host in chosen]
    return tuple(dict.fromkeys(hosts))
