"""`kdeploy app …`: Kamal's app subcommands on the filtered app hosts (docs/app-commands.md).

Read-only commands print, per host (and role), what docker printed there, as Kamal's
`puts_by_host` does (`App Host: <host>` first, left out with -q); `--output json` gives the same
as data. `start`, `stop`, `remove` and `stale_containers --stop` take the deploy lock.
`logs --follow` and `exec --interactive` prepare the command on the primary host, then run it
with `ssh -t` from here, like Kamal.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.raw_exec import RAW_HELP, execute_raw, refuse_json
from kdeploy.cli.run_command import execute
from kdeploy.errors import UsageError
from kdeploy.plan.app_commands import (
    ExecOptions,
    LogsOptions,
    build_app_exec_plan,
    build_app_logs_plan,
    build_app_plan,
    build_app_ssh_plan,
    build_app_stale_plan,
)
from kdeploy.plan.app_maintenance import MaintenanceOptions, build_app_maintenance_plan
from kdeploy.reports.app import READ_REPORTS, exec_report, logs_report, stale_report
from kdeploy.reports.common import Results, report_data
from kdeploy.run.ssh_command import ssh_argv
from kdeploy.selection import CommandContext


@cli.group()
def app() -> None:
    """Manage the app (Kamal's `app` commands)."""


# `app boot` (the deploy's boot step on its own) registers on this group as well.


# Read-only commands (no lock), with their help.
_READ_ACTIONS = {
    "details": "Show details about the app containers (docker ps per role).",
    "containers": "Show the app containers on the servers, running or not.",
    "images": "Show the app images on the servers.",
    "version": "Show the app version running on the servers.",
}

def _run_read(action: str, options: GlobalOptions, output_format: str) -> None:
    context = command_context(options)
    plan = build_app_plan(context, action)
    hosts = context.selection.app_hosts
    execute(context, plan, options, output_format,
            report=lambda results: READ_REPORTS[action](hosts, results, options.quiet))


# Commands that take the deploy lock and no option, with their help.
_LOCKED_ACTIONS = {
    "start": "Start the existing app containers of the version on the servers.",
    "stop": "Stop the running app containers on the servers.",
    "remove": "Remove the app containers, images and app directories from the servers.",
}

def _run_locked(action: str, options: GlobalOptions, output_format: str) -> None:
    context = command_context(options)
    execute(context, build_app_plan(context, action), options, output_format)


def _register(actions: dict[str, str], run: Callable[[str, GlobalOptions, str], None]) -> None:
    # One definition for the commands that take only the global options.
    for action, help_text in actions.items():
        _options_only_command(action, help_text, run)


def _options_only_command(action: str, help_text: str,
                          run: Callable[[str, GlobalOptions, str], None]) -> None:
    @app.command(action, help=help_text)
    @global_options
    @output_option
    def command(options: GlobalOptions, output_format: str) -> None:
        run(action, options, output_format)


_register(_READ_ACTIONS, _run_read)
_register(_LOCKED_ACTIONS, _run_locked)


@app.command("stale_containers")
@global_options
@click.option("-s", "--stop", is_flag=True, help="Stop the stale containers found.")
@output_option
def app_stale_containers(options: GlobalOptions, stop: bool, output_format: str) -> None:
    """Detect the app's stale containers (running versions other than the current one)."""
    context = command_context(options)
    plan = build_app_stale_plan(context, stop)
    hosts = context.selection.app_hosts
    execute(context, plan, options, output_format,
            report=lambda results: stale_report(hosts, results, stop, options.quiet))


@app.command("logs")
@global_options
@click.option("-s", "--since", default=None,
              help="Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m).")
@click.option("-n", "--lines", type=int, default=None,
              help="Lines to show from each server (100; 10 with --follow; all with -s/-g).")
@click.option("-g", "--grep", default=None, help="Show only lines matching this grep pattern.")
@click.option("--grep-options", default=None, help="More options for grep.")
@click.option("-f", "--follow", is_flag=True,
              help="Follow the log on the primary server (or the host given with -h).")
@click.option("-T", "--skip-timestamps", is_flag=True, help="Do not prefix lines with timestamps.")
@click.option("--container-id", default=None, help="The docker container id to read.")
@output_option
def app_logs(options: GlobalOptions, since: str | None, lines: int | None, grep: str | None,
             grep_options: str | None, follow: bool, skip_timestamps: bool,
             container_id: str | None, output_format: str) -> None:
    """Show log lines from the app on the servers."""
    context = command_context(options)
    logs = LogsOptions(since=since, lines=lines, grep=grep, grep_options=grep_options,
                       follow=follow, skip_timestamps=skip_timestamps, container_id=container_id)
    if follow:
        plan = build_app_ssh_plan(context, "follow_logs", logs=logs)
        _run_over_ssh(context, plan, options, output_format,
                      lambda host, _: f"Following logs on {host}...")
        return
    plan = build_app_logs_plan(context, logs)
    hosts = context.selection.app_hosts
    execute(context, plan, options, output_format,
            report=lambda results: logs_report(hosts, results, options.quiet))


@app.command("exec", context_settings={"ignore_unknown_options": True})
@global_options
@click.option("-i", "--interactive", is_flag=True,
              help="Run the command over ssh on the primary host, for an interactive shell.")
@click.option("--reuse", is_flag=True,
              help="Run in the currently running container instead of a new one.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY:VALUE",
              help="Set an environment variable for the command (repeatable).")
@click.option("--detach", is_flag=True, help="Run the command in a detached container.")
@click.option("--raw", is_flag=True, help=RAW_HELP)
@output_option
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
def app_exec(options: GlobalOptions, interactive: bool, reuse: bool, env: tuple[str, ...],
             detach: bool, raw: bool, output_format: str, cmd: tuple[str, ...]) -> None:
    """Run CMD in app containers on the servers (a new container per role unless --reuse)."""
    context = command_context(options)
    exec_options = ExecOptions(command=cmd, interactive=interactive, reuse=reuse,
                               env=parse_env(env), detach=detach, raw=raw)
    if raw and not interactive:
        refuse_json(output_format)
        plan = build_app_exec_plan(context, exec_options)
        execute_raw(context, plan, options, context.selection.app_hosts)
        return
    if interactive:
        kind = "exec_reuse" if reuse else "exec"
        plan = build_app_ssh_plan(context, kind, exec_options=exec_options, tty=stdin_is_tty())
        where = "existing" if reuse else "new"
        _run_over_ssh(context, plan, options, output_format, lambda host, version: (
            f"Launching interactive command with version {version} via SSH from {where} "
            f"container on {host}..."))
        return
    plan = build_app_exec_plan(context, exec_options)
    hosts = context.selection.app_hosts
    execute(context, plan, options, output_format,
            report=lambda results: exec_report(hosts, results, options.quiet))


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    """`-e KEY:VALUE` values as a dict (Thor's hash option syntax).

    Raises:
        UsageError: a value without `:`.
    """
    env = {}
    for pair in pairs:
        key, colon, value = pair.partition(":")
        if not colon or not key:
            raise UsageError(f"--env expects KEY:VALUE, got {pair!r}")
        env[key] = value
    return env


def stdin_is_tty() -> bool:
    """Whether kdeploy runs on a terminal (docker gets -it then, else -i; Kamal's rule)."""
    return sys.stdin.isatty()


def _run_over_ssh(context: CommandContext, plan: Any, options: GlobalOptions, output_format: str,
                  announce: Callable[[str, str], str]) -> None:
    config = context.config
    host = plan.extravars["app_ops_primary_host"]
    rendered: dict[str, str] = {}

    def report(results: Results) -> tuple[str, dict[str, Any]]:
        msg = results.get(host, {}).get("msg") or {}
        rendered.update(command=str(msg.get("command", "")), version=str(msg.get("version", "")))
        argv = ssh_argv(config, host, rendered["command"])
        return (f"{announce(host, rendered['version'])}\n{shlex.join(argv)}",
                report_data("app ssh", [{"host": host, "version": rendered["version"] or None,
                                         "command": rendered["command"], "ssh": argv}]))

    execute(context, plan, options, output_format, report=report)
    if not rendered.get("command"):
        raise UsageError(f"Could not prepare the command on {host}")
    sys.exit(run_ssh(ssh_argv(config, host, rendered["command"])))


def run_ssh(argv: list[str]) -> int:
    """Run ssh attached to this terminal; its exit code is the command's."""
    return subprocess.call(argv)


def thor_numeric(_ctx: click.Context, _param: click.Parameter,
                 value: str | None) -> int | float | None:
    """Click callback for a Thor numeric option: an int when it reads as one, else a float."""
    if value is None:
        return None
    try:
        return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise click.BadParameter(f"expected a number, got {value!r}") from None


@app.command("maintenance")
@global_options
@click.option("--drain-timeout", callback=thor_numeric, default=None, metavar="SECONDS",
              help="How long to allow in-flight requests to complete "
                   "(defaults to drain_timeout from config).")
@click.option("--message", default=None, help="Message to display to clients while stopped.")
@output_option
def app_maintenance(options: GlobalOptions, drain_timeout: int | float | None,
                    message: str | None, output_format: str) -> None:
    """Set the app to maintenance mode: the proxy answers 503 with the message."""
    context = command_context(options)
    plan = build_app_maintenance_plan(context, "maintenance",
                                      MaintenanceOptions(drain_timeout, message))
    execute(context, plan, options, output_format)


@app.command("live")
@global_options
@output_option
def app_live(options: GlobalOptions, output_format: str) -> None:
    """Set the app to live mode: the proxy sends requests to the app again."""
    context = command_context(options)
    execute(context, build_app_maintenance_plan(context, "live"), options, output_format)
