"""Plan Kamal's `app` subcommands (all but `boot`), and the top-level `remove` and `details`.

Each plan imports part playbooks that run `roles/app_ops` (Kamal's app commands) on the
filtered app hosts; the commands that change containers import the lock plays around them, as
Kamal's `modify(lock: true)` does. What a command prints comes from one task per host (the
plan's `report_task`). Pure: a command's context and options in, a Plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config import Config
from kdeploy.config.docker_options import option_args
from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import Plan, PlaybookImport, accessory_tag
from kdeploy.plan.proxy import proxy_part, proxy_targets
from kdeploy.selection import CommandContext, Selection

# The task of each part whose per-host results the command prints (roles/app_ops).
APP_REPORT_TASKS = {
    "details": "Read the details of the containers.",
    "containers": "List the app containers.",
    "images": "List the app images.",
    "version": "Read the running app version.",
    "logs": "Read the app logs.",
    "exec": "Run the command in app containers.",
    "stale_containers": "Find the stale app containers.",
    "ssh_command": "Render the command for ssh -t.",
}
READ_ACTIONS = ("details", "containers", "images", "version")
LOCKED_ACTIONS = ("start", "stop", "remove")
SSH_COMMANDS = ("follow_logs", "exec", "exec_reuse")


@dataclass(frozen=True)
class LogsOptions:
    """The options of `kdeploy app logs` (Kamal's names)."""

    since: str | None = None
    lines: int | None = None
    grep: str | None = None
    grep_options: str | None = None
    follow: bool = False
    skip_timestamps: bool = False
    container_id: str | None = None


@dataclass(frozen=True)
class ExecOptions:
    """The options of `kdeploy app exec`: the command (words joined like Kamal's) and how."""

    command: tuple[str, ...] = ()
    interactive: bool = False
    reuse: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    detach: bool = False
    # Kamal 2.12's `--raw`: the command's stdout byte for byte (it comes back base64-encoded).
    raw: bool = False


def build_app_plan(context: CommandContext, action: str) -> Plan:
    """Plan `app details|containers|images|version` (read-only) or `app start|stop|remove`.

    Raises:
        UsageError: an unknown action, no app host selected, or (locked actions) no version.
    """
    if action not in (*READ_ACTIONS, *LOCKED_ACTIONS):
        raise UsageError(f"Unknown app action {action}")
    selection = _app_selection(context)
    extravars = _role_vars(context.config, selection)
    if action == "start":
        extravars["app_ops_version"] = _config_version(context.config, "start")
    if action in LOCKED_ACTIONS:
        return _locked_plan(context, f"app {action}", f"app_{action}.yml", extravars)
    return _read_plan(f"app {action}", f"app_{action}.yml", selection, extravars,
                      APP_REPORT_TASKS[action])


def build_app_stale_plan(context: CommandContext, stop: bool) -> Plan:
    """Plan `app stale_containers [--stop]`; stopping takes the deploy lock like Kamal."""
    selection = _app_selection(context)
    extravars = _role_vars(context.config, selection) | {"app_ops_stale_stop": stop}
    if stop:
        return _locked_plan(context, "app stale_containers", "app_stale_containers.yml",
                            extravars, APP_REPORT_TASKS["stale_containers"])
    return _read_plan("app stale_containers", "app_stale_containers.yml", selection,
                      extravars, APP_REPORT_TASKS["stale_containers"])


def build_app_logs_plan(context: CommandContext, logs: LogsOptions) -> Plan:
    """Plan `app logs` on every app host and role (`--follow` is `build_app_ssh_plan`).

    Kamal shows 100 lines unless --since or --grep narrows them (then all).
    """
    selection = _app_selection(context)
    extravars = _role_vars(context.config, selection) | _logs_vars(logs, default_lines=100)
    return _read_plan("app logs", "app_logs.yml", selection, extravars, APP_REPORT_TASKS["logs"])


def build_app_exec_plan(context: CommandContext, exec_options: ExecOptions) -> Plan:
    """Plan `app exec CMD` on every app host and role (`--interactive` is `build_app_ssh_plan`).

    A new container runs `--version` or the `latest[-<dest>]` image and needs a registry login;
    `--reuse` execs in the container of `--version`, else of the version running on the primary
    host. Not locked (Kamal does not lock exec).

    Raises:
        UsageError: Kamal's refusals (detach with reuse, no command), or no app host.
    """
    command = _exec_command(exec_options)
    selection = _app_selection(context)
    extravars = _role_vars(context.config, selection) | _exec_vars(context, exec_options, command)
    extravars["kdeploy_performer"] = context.performer
    # A new container may pull: it needs the registry login; a reused one does not.
    secrets = () if exec_options.reuse else context.config.registry.login_secret_names
    return _read_plan("app exec", "app_exec.yml", selection, extravars, APP_REPORT_TASKS["exec"],
                      secrets=secrets)


def build_app_ssh_plan(context: CommandContext, kind: str, logs: LogsOptions | None = None,
                       exec_options: ExecOptions | None = None, tty: bool = True) -> Plan:
    """Plan the preparation of `app logs --follow` or `app exec --interactive` on one host.

    The part logs in (new exec container), reads the running version (reuse without
    --version) and renders the command; kdeploy then runs it with `ssh -t` on that host
    (`extravars["app_ops_primary_host"]`), as Kamal does.

    Raises:
        UsageError: an unknown kind, Kamal's exec refusals, or no host.
    """
    if kind not in SSH_COMMANDS:
        raise UsageError(f"Unknown ssh command {kind}")
    if kind == "follow_logs":
        # Kamal follows the primary role's logs unless -r names roles.
        context = context.refiltered(
            roles=context.filters.roles or context.config.primary_role.name)
    selection = context.selection
    host = selection.primary_host
    if host is None:
        raise UsageError("No host to run the command on: the config has no servers")
    extravars: dict[str, Any] = {
        "app_ops_roles": list(selection.role_names),
        "app_ops_primary_host": host,
        "app_ops_ssh_command": kind,
        "app_ops_interactive_args": "-it" if tty else "-i",
    }
    if kind == "follow_logs":
        extravars |= _logs_vars(logs or LogsOptions(), default_lines=10)
    else:
        exec_options = exec_options or ExecOptions(interactive=True)
        extravars |= _exec_vars(context, exec_options, _exec_command(exec_options))
    return Plan(
        command=f"app {'logs' if kind == 'follow_logs' else 'exec'}",
        imports=(PlaybookImport("app_ssh_command.yml", ("app",)),),
        limit=host,
        extravars=extravars,
        secret_names=context.config.registry.login_secret_names if kind == "exec" else (),
        entry="kdeploy_app_ssh_command",
        report_task=APP_REPORT_TASKS["ssh_command"],
        hook_points=connect_points(),
    )


def build_remove_plan(context: CommandContext) -> Plan:
    """Plan `kdeploy remove`: lock, app, proxy, accessories (each), registry logout, unlock.

    Kamal's order (lib/kamal/cli/main.rb#remove) on the filtered hosts: the filtered roles, the
    proxy on their proxy hosts (kept where other apps are still installed, as Kamal keeps it),
    the accessories living there.

    Raises:
        UsageError: no host to hold the lock, or no version for the lock details.
    """
    config, selection = context.config, context.selection
    if selection.primary_host is None:
        raise UsageError("No host to hold the deploy lock: the config has no servers")
    proxied = proxy_targets(config, selection)
    imports = (
        PlaybookImport("lock_acquire.yml", ("lock",)),
        PlaybookImport("app_remove.yml", ("app",)),
        *((proxy_part("proxy_remove.yml", proxied),) if proxied else ()),
        *(PlaybookImport("accessory_remove.yml", ("accessory", accessory_tag(name)),
                         {"accessory_name": name})
          for name in selection.accessory_hosts),
        PlaybookImport("registry_logout.yml", ("registry",)),
        PlaybookImport("lock_release.yml", ("lock",)),
    )
    return Plan(
        command="remove",
        imports=imports,
        limit=_filtered_limit(context),
        extravars=_role_vars(config, selection)
        | command_lock_vars(config, selection, context.performer)
        | {"proxy_force": False},
        lock_host=selection.primary_host,
        entry="kdeploy_remove",
        hook_points=connect_points(),
    )


def build_details_plan(context: CommandContext) -> Plan:
    """Plan `kdeploy details`: kamal-proxy, app and accessory containers on the filtered hosts.

    Raises:
        UsageError: the filters match no host.
    """
    config, selection = context.config, context.selection
    if not selection.hosts:
        raise UsageError("No hosts to show details of")
    extravars = _role_vars(config, selection) | {
        "app_ops_accessories": list(selection.accessory_hosts),
        "app_ops_proxy_hosts": list(proxy_targets(config, selection)),
    }
    return Plan(
        command="details",
        imports=(PlaybookImport("app_details.yml", ("details",)),),
        limit=_filtered_limit(context),
        extravars=extravars,
        entry="kdeploy_details",
        report_task=APP_REPORT_TASKS["details"],
        hook_points=connect_points(),
    )


def _app_selection(context: CommandContext) -> Selection:
    selection = context.selection
    if not selection.app_hosts:
        raise UsageError("No app hosts selected: the filters match no host of any role")
    return selection


def _role_vars(config: Config, selection: Selection) -> dict[str, Any]:
    return {
        "app_ops_roles": list(selection.role_names),
        "app_ops_proxy_roles": [role.name for role in config.proxy_roles],
    }


def _read_plan(command: str, part: str, selection: Selection, extravars: dict[str, Any],
               report_task: str, secrets: tuple[str, ...] = ()) -> Plan:
    return Plan(
        command=command,
        imports=(PlaybookImport(part, ("app",)),),
        limit=",".join(selection.app_hosts),
        extravars=extravars,
        secret_names=secrets,
        entry=f"kdeploy_{part.removesuffix('.yml')}",
        report_task=report_task,
        hook_points=connect_points(),
    )


def _locked_plan(context: CommandContext, command: str, part: str, extravars: dict[str, Any],
                 report_task: str | None = None) -> Plan:
    # The lock play targets the filtered primary host by name: it must be inside the limit.
    selection = context.selection
    hosts = dict.fromkeys((*selection.app_hosts, selection.primary_host))
    return Plan(
        command=command,
        imports=(PlaybookImport("lock_acquire.yml", ("lock",)), PlaybookImport(part, ("app",)),
                 PlaybookImport("lock_release.yml", ("lock",))),
        limit=",".join(host for host in hosts if host),
        extravars=extravars | command_lock_vars(context.config, selection, context.performer),
        lock_host=selection.primary_host,
        entry=f"kdeploy_{part.removesuffix('.yml')}",
        report_task=report_task,
        hook_points=connect_points(),
    )


def _config_version(config: Config, purpose: str) -> str:
    # Kamal takes --version, $VERSION or the git commit, and fails without one as well.
    if config.version is None:
        raise UsageError(f"No version for {purpose}: pass --version, set VERSION, "
                         "or run in a git repo")
    return config.version


def _filtered_limit(context: CommandContext) -> str | None:
    return ",".join(context.selection.hosts) if context.filters.given else None


def _logs_vars(logs: LogsOptions, default_lines: int) -> dict[str, Any]:
    # Kamal: -n, else the default unless --since or --grep narrows the lines (then all of them).
    lines = logs.lines if logs.lines is not None else (
        -1 if logs.since or logs.grep else default_lines)
    return {
        "app_ops_logs_since": logs.since or "",
        "app_ops_logs_lines": lines,
        "app_ops_logs_grep": logs.grep or "",
        "app_ops_logs_grep_options": logs.grep_options or "",
        "app_ops_logs_timestamps": not logs.skip_timestamps,
        "app_ops_logs_container_id": logs.container_id or "",
    }


def _exec_command(options: ExecOptions) -> str:
    if options.detach and (options.interactive or options.reuse):
        incompatible = [name for name, given in (("interactive", options.interactive),
                                                 ("reuse", options.reuse)) if given]
        raise UsageError(f"Detach is not compatible with {' or '.join(incompatible)}")
    if options.raw and (options.interactive or options.detach):
        incompatible = [name for name, given in (("interactive", options.interactive),
                                                 ("detach", options.detach)) if given]
        raise UsageError(f"Raw is not compatible with {' or '.join(incompatible)}")
    if not options.command:
        raise UsageError("No command provided. You must specify a command to execute.")
    # Kamal::Utils.join_commands: each word stripped, joined by spaces, sent to the host's shell.
    return " ".join(word.strip() for word in options.command)


def _exec_vars(context: CommandContext, exec_options: ExecOptions,
               command: str) -> dict[str, Any]:
    # A new container runs --version or the latest image; reuse takes the version running on
    # the primary host unless --version is given (the part falls back to kdeploy_version).
    config, selection = context.config, context.selection
    version = context.requested_version or ("" if exec_options.reuse else config.latest_tag)
    extravars: dict[str, Any] = {
        "app_ops_version": version,
        "app_ops_exec_command": command,
        "app_ops_exec_env": dict(exec_options.env),
        "app_ops_exec_reuse": exec_options.reuse,
        "app_ops_exec_detach": exec_options.detach,
        "app_ops_exec_raw": exec_options.raw,
        "app_ops_option_args": {
            role.name: option_args(role.options, f"servers/{role.name}/options")
            for role in selection.roles if role.options},
        "app_ops_primary_host": selection.primary_host,
    }
    if config.version is not None:
        extravars["kdeploy_version"] = config.version
    return extravars
