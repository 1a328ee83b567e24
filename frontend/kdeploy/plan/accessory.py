"""Plan Kamal's `accessory` subcommands (Kamal's lib/kamal/cli/accessory.rb; docs/accessories.md).

Each plan imports one part playbook per accessory (`playbooks/accessory_<action>.yml`, tags
`[accessory, accessory_<name>]`, vars `{accessory_name: <name>}`) in config order, limited
to the accessories' hosts inside Kamal's filters; the commands that change containers take the
deploy lock around them, as Kamal's `with_lock` does. Pure: a command's context and options in,
a Plan out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config import Config
from kdeploy.config.docker_options import option_args
from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import Plan, PlaybookImport, accessory_tag
from kdeploy.plan.setup import destination_check
from kdeploy.selection import CommandContext

# Part playbook(s) of each action, in order (restart is Kamal's stop then start).
PARTS = {
    "boot": ("accessory_boot.yml",),
    "reboot": ("accessory_reboot.yml",),
    "upgrade": ("accessory_reboot.yml",),
    "start": ("accessory_start.yml",),
    "stop": ("accessory_stop.yml",),
    "restart": ("accessory_stop.yml", "accessory_start.yml"),
    "remove": ("accessory_remove.yml",),
    "details": ("accessory_details.yml",),
    "logs": ("accessory_logs.yml",),
    "exec": ("accessory_exec.yml",),
}
LOCKED = ("boot", "reboot", "upgrade", "start", "stop", "restart", "remove")
# The commands whose outcome per host and accessory is reported by `accessory_report.yml`.
REPORTED = ("boot", "reboot", "upgrade", "remove")

# The task of each part whose per-host results the command prints (roles/accessory).
REPORT_TASKS = {
    "details": "Read the details of the accessory.",
    "logs": "Read the accessory logs.",
    "exec": "Run the command in the accessory container.",
    "ssh_command": "Render the command for ssh -t.",
    **dict.fromkeys(REPORTED, "Report what the accessory commands did."),
}
REPORT_PART = "accessory_report.yml"
SSH_COMMANDS = ("follow_logs", "exec", "exec_reuse")


@dataclass(frozen=True)
class AccessoryOptions:
    """The options of `accessory remove` and `accessory upgrade` (the filters are the context's)."""

    purge: bool = False  # remove: also delete directories and named volumes
    rolling: bool = False  # upgrade: one host at a time


@dataclass(frozen=True)
class AccessoryLogsOptions:
    """`accessory logs` options (Kamal's names)."""

    since: str | None = None
    lines: int | None = None
    grep: str | None = None
    grep_options: str | None = None
    skip_timestamps: bool = False


def accessory_names(config: Config, name: str) -> tuple[str, ...]:
    """`NAME` or `all` (every accessory in config order).

    Raises:
        UsageError: Kamal's `No accessory by the name of 'x' (options: a and b)`.
    """
    names = tuple(acc.name for acc in config.accessories)
    if name == "all":
        return names
    if name not in names:
        options = f" (options: {to_sentence(names)})" if names else ""
        raise UsageError(f"No accessory by the name of '{name}'{options}")
    return (name,)


def to_sentence(words: tuple[str, ...]) -> str:
    """ActiveSupport's Array#to_sentence: `a`, `a and b`, `a, b, and c`."""
    if len(words) <= 2:
        return " and ".join(words)
    return f"{', '.join(words[:-1])}, and {words[-1]}"


def accessory_hosts(context: CommandContext, name: str) -> dict[str, tuple[str, ...]]:
    """Each named accessory's hosts inside the filters (Kamal: accessory_hosts & accessory.hosts).

    `-r web` keeps accessories on web's hosts and drops those on dedicated hosts; an accessory
    with no host left is not in the result.
    """
    selection = context.selection
    return {acc: selection.accessory_hosts[acc] for acc in accessory_names(context.config, name)
            if acc in selection.accessory_hosts}


def build_accessory_plan(context: CommandContext, action: str, name: str,
                         options: AccessoryOptions = AccessoryOptions(),
                         extravars: dict[str, Any] | None = None) -> Plan:
    """Plan `accessory boot|reboot|upgrade|start|stop|restart|remove|details NAME|all`.

    Raises:
        UsageError: an unknown action or accessory, no accessory host inside the filters, or
            (locked actions) no version for the lock details.
    """
    if action not in PARTS:
        raise UsageError(f"Unknown accessory action {action}")
    config, selection = context.config, context.selection
    hosts = accessory_hosts(context, name)
    if not hosts:
        raise UsageError(f"No hosts of accessory {name} match the filters")
    imports = [PlaybookImport(part, ("accessory", accessory_tag(acc)),
                              {"accessory_name": acc})
               for acc in hosts for part in PARTS[action]]
    variables: dict[str, Any] = {"kdeploy_performer": context.performer, **(extravars or {})}
    if action in REPORTED:
        imports.append(PlaybookImport(REPORT_PART, ("accessory",)))
        variables["accessory_report"] = True
    if action == "remove":
        variables["accessory_purge"] = options.purge
    if action == "upgrade" and options.rolling:
        variables["accessory_serial"] = 1
    limit_hosts = dict.fromkeys(host for found in hosts.values() for host in found)
    lock_host = None
    if action in LOCKED:
        lock_host = selection.primary_host
        if lock_host is None:
            raise UsageError("No host to hold the deploy lock: the config has no servers")
        imports = [destination_check(tuple(hosts), action),
                   PlaybookImport("lock_acquire.yml", ("lock",)), *imports,
                   PlaybookImport("lock_release.yml", ("lock",))]
        # The lock play targets the filtered primary host by name: it must be inside the limit.
        limit_hosts[lock_host] = None
        variables |= command_lock_vars(config, selection, context.performer)
    return Plan(
        command=f"accessory {action}",
        imports=tuple(imports),
        limit=",".join(limit_hosts),
        extravars=variables,
        secret_names=_secret_names(config, tuple(hosts), action),
        lock_host=lock_host,
        entry=f"kdeploy_accessory_{action}",
        report_task=REPORT_TASKS.get(action),
        hook_points=connect_points(),
    )


def build_accessory_logs_plan(context: CommandContext, name: str,
                              logs: AccessoryLogsOptions) -> Plan:
    """Plan `accessory logs NAME` on its hosts (Kamal: 100 lines unless --since or --grep)."""
    lines = logs.lines if logs.lines is not None else (-1 if logs.since or logs.grep else 100)
    return build_accessory_plan(context, "logs", name, extravars={
        "accessory_logs_since": logs.since or "",
        "accessory_logs_lines": lines,
        "accessory_logs_grep": logs.grep or "",
        "accessory_logs_grep_options": logs.grep_options or "",
        "accessory_logs_timestamps": not logs.skip_timestamps,
    })


def build_accessory_exec_plan(context: CommandContext, name: str, command: tuple[str, ...],
                              reuse: bool, raw: bool = False) -> Plan:
    """Plan `accessory exec NAME CMD` on its hosts: a new container each, or `docker exec`.

    `raw` (Kamal 2.12's `--raw`): the command's stdout comes back byte for byte (base64).

    Raises:
        UsageError: no command, or the accessory is `all`.
    """
    accessory = _single(context.config, name)
    extravars = _exec_vars(context.config, accessory, command, reuse)
    if raw:
        extravars["accessory_exec_raw"] = True
    return build_accessory_plan(context, "exec", accessory, extravars=extravars)


def build_accessory_ssh_plan(context: CommandContext, name: str, kind: str,
                             logs: AccessoryLogsOptions | None = None,
                             command: tuple[str, ...] = (), tty: bool = True) -> Plan:
    """Plan the preparation of `logs --follow` / `exec --interactive` on the accessory's first host.

    kdeploy then runs the rendered command with `ssh -t` there (`extravars
    ["accessory_ssh_host"]`), as Kamal does.

    Raises:
        UsageError: an unknown kind, no command for exec, or no host inside the filters.
    """
    if kind not in SSH_COMMANDS:
        raise UsageError(f"Unknown ssh command {kind}")
    config = context.config
    accessory = _single(config, name)
    hosts = accessory_hosts(context, accessory)
    if not hosts:
        raise UsageError(f"No hosts of accessory {accessory} match the filters")
    host = hosts[accessory][0]
    extravars: dict[str, Any] = {
        "accessory_name": accessory,
        "accessory_ssh_command": kind,
        "accessory_ssh_host": host,
        "accessory_interactive_args": "-it" if tty else "-i",
    }
    if kind == "follow_logs":
        logs = logs or AccessoryLogsOptions()
        extravars |= {
            "accessory_logs_grep": logs.grep or "",
            "accessory_logs_grep_options": logs.grep_options or "",
            "accessory_logs_timestamps": not logs.skip_timestamps,
        }
    else:
        extravars |= _exec_vars(config, accessory, command, kind == "exec_reuse")
    return Plan(
        command=f"accessory {'logs' if kind == 'follow_logs' else 'exec'}",
        imports=(PlaybookImport("accessory_ssh_command.yml",
                                ("accessory", accessory_tag(accessory)),
                                {"accessory_name": accessory}),),
        limit=host,
        extravars=extravars,
        secret_names=_secret_names(config, (accessory,), "exec") if kind == "exec" else (),
        entry="kdeploy_accessory_ssh_command",
        report_task=REPORT_TASKS["ssh_command"],
        hook_points=connect_points(),
    )


def _single(config: Config, name: str) -> str:
    # Kamal's exec and logs act on one accessory; `all` is not a name there.
    (accessory,) = accessory_names(config, name) if name != "all" else ("all",)
    if accessory == "all":
        raise UsageError("No accessory by the name of 'all': exec and logs take one accessory")
    return accessory


def _exec_vars(config: Config, name: str, command: tuple[str, ...], reuse: bool) -> dict[str, Any]:
    if not command:
        raise UsageError("No command provided. You must specify a command to execute.")
    # Kamal::Utils.join_commands: each word stripped, joined by spaces, sent to the host's shell.
    joined = " ".join(word.strip() for word in command)
    return {
        "accessory_exec_command": joined,
        "accessory_exec_reuse": reuse,
        "accessory_option_args": option_args(config.accessory(name).options,
                                             f"accessories/{name}/options"),
    }


def _secret_names(config: Config, names: tuple[str, ...], action: str) -> tuple[str, ...]:
    """The secrets the accessories' env files, `*.erb` files and registry logins need."""
    if action not in ("boot", "reboot", "upgrade", "exec"):
        return ()
    found: list[str] = []
    for name in names:
        accessory = config.accessory(name)
        found += accessory.env.secret.values()
        # Its own registry, else the app's (which needs no login when it is Kamal's local one).
        found += (accessory.registry.secret_names if accessory.registry
                  else config.registry.login_secret_names)
    return tuple(dict.fromkeys(found))
