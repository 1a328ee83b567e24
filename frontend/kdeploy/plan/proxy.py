"""Plan Kamal's `proxy` subcommands, and the proxy steps of `setup` and `deploy` (docs/proxy.md).

The proxy runs on the hosts of the roles behind it (inside Kamal's filters). Each command imports
`playbooks/proxy_<action>.yml` (tag `proxy`) aimed at exactly those hosts through the var
`proxy_hosts`; the commands that change the proxy take the deploy lock, as Kamal's
`with_lock` does. `reboot --rolling` reboots one host per import, so that the pre/post-proxy-reboot
hooks run around each host as Kamal runs them. Pure: a command's context and options in, a Plan
out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import connect_points, proxy_reboot_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.selection import CommandContext, Selection

# Part playbook(s) of each action, in order (restart is Kamal's stop then start).
PARTS = {
    "boot": ("proxy_boot.yml",),
    "reboot": ("proxy_reboot.yml",),
    "start": ("proxy_start.yml",),
    "stop": ("proxy_stop.yml",),
    "restart": ("proxy_stop.yml", "proxy_start.yml"),
    "remove": ("proxy_remove.yml",),
    "details": ("proxy_details.yml",),
    "logs": ("proxy_logs.yml",),
}
ACTIONS = tuple(PARTS)
LOCKED = ("boot", "reboot", "start", "stop", "restart", "remove")

# The task of each part whose per-host results the command prints (roles/proxy).
REPORT_TASKS = {"details": "Read the proxy details.", "logs": "Read the proxy logs."}

# The part that refuses, before the lock, a running proxy whose image is not the pinned one.
CHECK_PART = "proxy_check.yml"
REBOOT_PART = "proxy_reboot.yml"
TAGS = ("proxy",)
HOSTS_VAR = "proxy_hosts"


@dataclass(frozen=True)
class ProxyOptions:
    """The options of `proxy reboot` and `proxy remove` (the filters are the context's)."""

    rolling: bool = False  # reboot: one host at a time
    force: bool = False  # remove: even when other apps are installed


@dataclass(frozen=True)
class ProxyLogsOptions:
    """`proxy logs` options (Kamal's names)."""

    since: str | None = None
    lines: int | None = None
    grep: str | None = None
    grep_options: str | None = None
    skip_timestamps: bool = False


def proxy_targets(config: Config, selection: Selection) -> tuple[str, ...]:
    """The filtered hosts that run the proxy: the hosts of the proxy roles, primary role first.

    Not Kamal's `proxy_hosts` (Config.proxy_hosts: roles in name order, unfiltered): a command
    acts on the primary role's hosts first.
    """
    chosen = set(selection.hosts)
    hosts = [host for role in config.proxy_roles for host in role.hosts if host in chosen]
    return tuple(dict.fromkeys(hosts))


def proxy_part(playbook: str, hosts: tuple[str, ...]) -> PlaybookImport:
    """One proxy part playbook aimed at exactly `hosts`."""
    return PlaybookImport(playbook, TAGS, {HOSTS_VAR: ",".join(hosts)})


def build_proxy_plan(context: CommandContext, action: str,
                     options: ProxyOptions = ProxyOptions(),
                     extravars: dict[str, Any] | None = None) -> Plan:
    """Plan `proxy ACTION` on the filtered proxy hosts.

    Raises:
        UsageError: an unknown action, no proxy host inside the filters, or (for the commands
            that lock) no version for the lock details.
    """
    if action not in PARTS:
        raise UsageError(f"Unknown proxy command {action} (options: {', '.join(ACTIONS)})")
    config, selection = context.config, context.selection
    hosts = proxy_targets(config, selection)
    if not hosts:
        raise UsageError("No proxy hosts inside the filters: no selected role runs behind the "
                         "proxy (Kamal: the primary role unless `proxy: false`)")
    variables: dict[str, Any] = {"kdeploy_performer": context.performer, **(extravars or {})}
    points = connect_points()
    if action == "reboot":
        groups = [(host,) for host in hosts] if options.rolling else [hosts]
        imports = [proxy_part(REBOOT_PART, group) for group in groups]
        points += proxy_reboot_points(imports, groups)
    else:
        imports = [proxy_part(part, hosts) for part in PARTS[action]]
    if action == "remove":
        variables["proxy_force"] = options.force
    limit = dict.fromkeys(hosts)
    lock_host = None
    if action in LOCKED:
        lock_host = selection.primary_host
        imports = [PlaybookImport("lock_acquire.yml", ("lock",)), *imports,
                   PlaybookImport("lock_release.yml", ("lock",))]
        # The lock play targets the filtered primary host by name: it must be inside the limit.
        limit[lock_host] = None
        variables |= command_lock_vars(config, selection, context.performer)
    return Plan(
        command=f"proxy {action}",
        imports=tuple(imports),
        limit=",".join(host for host in limit if host),
        extravars=variables,
        # Kamal logs in to the app's registry on the proxy hosts before it runs the proxy.
        secret_names=config.registry.login_secret_names if action in ("boot", "reboot") else (),
        lock_host=lock_host,
        entry=f"kdeploy_proxy_{action}",
        report_task=REPORT_TASKS.get(action),
        hook_points=points,
    )


def build_proxy_logs_plan(context: CommandContext, logs: ProxyLogsOptions) -> Plan:
    """Plan `proxy logs` (Kamal: 100 lines unless --since or --grep)."""
    lines = logs.lines if logs.lines is not None else (None if logs.since or logs.grep else 100)
    return build_proxy_plan(context, "logs", extravars={
        "proxy_logs_since": logs.since,
        "proxy_logs_lines": lines,
        "proxy_logs_grep": logs.grep,
        "proxy_logs_grep_options": logs.grep_options,
        "proxy_logs_timestamps": not logs.skip_timestamps,
    })


def proxy_check(hosts: tuple[str, ...]) -> PlaybookImport:
    """The check, before the lock, that every running proxy runs the pinned image."""
    return proxy_part(CHECK_PART, hosts)
