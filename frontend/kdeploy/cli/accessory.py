"""`kdeploy accessory …`: Kamal's accessory subcommands (docs/accessories.md).

`NAME` is an accessory of the config or `all` (config order). Kamal's global filters apply:
`-r web` keeps the accessories on web's hosts. The commands that change containers take the
deploy lock. `boot` converges (a running accessory is left alone and a changed config is only
reported), `reboot` pulls before it stops anything, and `remove` keeps the data unless `--purge`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from kdeploy.cli import cli
from kdeploy.cli.app import run_ssh, stdin_is_tty
from kdeploy.cli.confirm import can_ask, confirm
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.raw_exec import RAW_HELP, execute_raw, refuse_json
from kdeploy.cli.run_command import execute, nothing_to_do
from kdeploy.errors import UsageError
from kdeploy.plan.accessory import (
    AccessoryLogsOptions,
    AccessoryOptions,
    accessory_hosts,
    build_accessory_exec_plan,
    build_accessory_logs_plan,
    build_accessory_plan,
    build_accessory_ssh_plan,
)
from kdeploy.plan.model import Plan
from kdeploy.reports.accessory import REPORTS, exec_report, logs_report
from kdeploy.reports.common import Results, report_data
from kdeploy.run.ssh_command import ssh_argv
from kdeploy.selection import CommandContext

name_argument = click.argument("name")


@cli.group()
def accessory() -> None:
    """Manage accessories (db/redis/search): Kamal's `accessory` commands."""


def _run(action: str, name: str, options: GlobalOptions, output_format: str,
         purge: bool = False, rolling: bool = False, check: CheckOptions | None = None) -> None:
    context = command_context(options)
    hosts = accessory_hosts(context, name)
    if not hosts:
        # Kamal does nothing either (`-r web` drops accessories on dedicated hosts).
        nothing_to_do(f"accessory {action}", context,
                      f"No hosts of accessory {name} inside the filters: nothing to {action}",
                      options, output_format)
        return
    plan = build_accessory_plan(context, action, name,
                                AccessoryOptions(purge=purge, rolling=rolling))
    report = REPORTS.get(action)
    execute(context, plan, options, output_format,
            report=None if report is None else lambda results: report(
                hosts, results, options.quiet, name=f"accessory {action}"), check=check)


# The commands that take only NAME, with their help: one definition registers them all.
_NAME_ONLY_ACTIONS = {
    "boot": "Boot accessory NAME (or all): converge, leave a running one alone, report changes.",
    "reboot": "Reboot accessory NAME (or all): pull its image, then replace its container.",
    "start": "Start the existing container of accessory NAME (or all).",
    "stop": "Stop the container of accessory NAME (or all).",
    "restart": "Restart the container of accessory NAME (or all): stop, then start.",
    "details": "Show details about accessory NAME (or all) on its hosts.",
}


# The commands among them that change hosts and so offer --check/--diff/--exit-code.
_CHECKABLE_ACTIONS = ("boot", "reboot")


def _name_only_command(action: str, help_text: str) -> None:
    if action in _CHECKABLE_ACTIONS:
        @accessory.command(action, help=help_text)
        @global_options
        @check_options
        @output_option
        @name_argument
        def checkable(options: GlobalOptions, output_format: str, name: str,
                      check: CheckOptions) -> None:
            _run(action, name, options, output_format, check=check)
        return

    @accessory.command(action, help=help_text)
    @global_options
    @output_option
    @name_argument
    def command(options: GlobalOptions, output_format: str, name: str) -> None:
        _run(action, name, options, output_format)


for _action, _help in _NAME_ONLY_ACTIONS.items():
    _name_only_command(_action, _help)


@accessory.command("remove")
@global_options
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@click.option("--purge", is_flag=True,
              help="Also delete the accessory's data: its directories and named volumes.")
@check_options
@output_option
@name_argument
def accessory_remove(options: GlobalOptions, confirmed: bool, purge: bool, output_format: str,
                     name: str, check: CheckOptions) -> None:
    """Remove accessory NAME's (or all) container and image; its data only with --purge."""
    data = "and data directories" if purge else "(data directories and volumes are kept)"
    # A check removes nothing: no question.
    confirm(confirmed or check.check, f"This will remove all containers, images {data} for "
            f"{name}. Are you sure?", "accessory remove", can_ask)
    _run("remove", name, options, output_format, purge=purge, check=check)


@accessory.command("upgrade")
@global_options
@click.option("--rolling", is_flag=True, help="Upgrade one host at a time.")
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@output_option
@name_argument
def accessory_upgrade(options: GlobalOptions, rolling: bool, confirmed: bool, output_format: str,
                      name: str) -> None:
    """Upgrade accessory NAME (or all) from Kamal 1 (reboot it into the kamal network)."""
    confirm(confirmed, "This will restart all accessories", "accessory upgrade", can_ask)
    _run("upgrade", name, options, output_format, rolling=rolling)


@accessory.command("logs")
@global_options
@click.option("-s", "--since", default=None,
              help="Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m).")
@click.option("-n", "--lines", type=int, default=None,
              help="Lines to show from each server (100; all with -s/-g).")
@click.option("-g", "--grep", default=None, help="Show only lines matching this grep pattern.")
@click.option("--grep-options", default=None, help="More options for grep.")
@click.option("-f", "--follow", is_flag=True,
              help="Follow the log on the accessory's first host (or the host given with -h).")
@click.option("-T", "--skip-timestamps", is_flag=True, help="Do not prefix lines with timestamps.")
@output_option
@name_argument
def accessory_logs(options: GlobalOptions, since: str | None, lines: int | None,
                   grep: str | None, grep_options: str | None, follow: bool,
                   skip_timestamps: bool, output_format: str, name: str) -> None:
    """Show log lines from accessory NAME on its hosts."""
    context = command_context(options)
    logs = AccessoryLogsOptions(since=since, lines=lines, grep=grep, grep_options=grep_options,
                                skip_timestamps=skip_timestamps)
    if follow:
        plan = build_accessory_ssh_plan(context, name, "follow_logs", logs=logs)
        _run_over_ssh(context, plan, options, output_format,
                      lambda host: f"Following logs on {host}...")
        return
    plan = build_accessory_logs_plan(context, name, logs)
    hosts = accessory_hosts(context, name)
    execute(context, plan, options, output_format,
            report=lambda results: logs_report(hosts, results, options.quiet))


@accessory.command("exec", context_settings={"ignore_unknown_options": True})
@global_options
@click.option("-i", "--interactive", is_flag=True,
              help="Run the command over ssh on the accessory's first host (console, shell).")
@click.option("--reuse", is_flag=True,
              help="Run in the running accessory container instead of a new one.")
@click.option("--raw", is_flag=True, help=RAW_HELP)
@output_option
@name_argument
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
def accessory_exec(options: GlobalOptions, interactive: bool, reuse: bool, raw: bool,
                   output_format: str, name: str, cmd: tuple[str, ...]) -> None:
    """Run CMD in accessory NAME on its hosts (a new container unless --reuse)."""
    if raw and interactive:
        raise UsageError("Raw is not compatible with interactive")
    context = command_context(options)
    where = "existing" if reuse else "new"
    if raw:
        refuse_json(output_format)
        plan = build_accessory_exec_plan(context, name, cmd, reuse, raw=True)
        hosts = accessory_hosts(context, name)
        execute_raw(context, plan, options, [h for found in hosts.values() for h in found])
        return
    if interactive:
        kind = "exec_reuse" if reuse else "exec"
        plan = build_accessory_ssh_plan(context, name, kind, command=cmd, tty=stdin_is_tty())
        _run_over_ssh(context, plan, options, output_format, lambda host: (
            f"Launching interactive command via SSH from {where} container on {host}..."))
        return
    plan = build_accessory_exec_plan(context, name, cmd, reuse)
    hosts = accessory_hosts(context, name)
    if not options.quiet and output_format == "human":
        click.echo(f"Launching command from {where} container...")
    execute(context, plan, options, output_format,
            report=lambda results: exec_report(hosts, results, options.quiet))


def _run_over_ssh(context: CommandContext, plan: Plan, options: GlobalOptions, output_format: str,
                  announce: Callable[[str], str]) -> None:
    config = context.config
    host = plan.extravars["accessory_ssh_host"]
    rendered: dict[str, str] = {}

    def report(results: Results) -> tuple[str, dict[str, Any]]:
        msg = results.get(host, {}).get("msg") or {}
        rendered["command"] = str(msg.get("command", ""))
        argv = ssh_argv(config, host, rendered["command"])
        return (f"{announce(host)}\n{' '.join(argv)}",
                report_data("accessory ssh", [{"host": host, "command": rendered["command"],
                                               "ssh": argv}]))

    execute(context, plan, options, output_format, report=report)
    if not rendered.get("command"):
        raise UsageError(f"Could not prepare the command on {host}")
    sys.exit(run_ssh(ssh_argv(config, host, rendered["command"])))


