"""`kdeploy server bootstrap` and `kdeploy server exec CMD…`, as Kamal's `server` commands.

`bootstrap` runs setup's bootstrap (roles/bootstrap: Docker present, network kamal) on the
filtered hosts under the deploy lock, then the `docker-setup` hook. `exec` runs CMD on every
filtered host and prints each host's output under its name; `-i` opens `ssh -t` to the primary
host instead, exactly as Kamal builds that command line.
"""

from __future__ import annotations

import os
import sys

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.raw_exec import RAW_HELP, execute_raw, refuse_json
from kdeploy.cli.run_command import execute
from kdeploy.errors import UsageError
from kdeploy.plan.maintenance import build_bootstrap_plan, build_exec_plan, join_command
from kdeploy.reports.server import exec_report
from kdeploy.run.kamal_hooks import hook_context, run_kamal_hook, verbosity
from kdeploy.run.ssh_command import ssh_argv
from kdeploy.selection import CommandContext


@cli.group()
def server() -> None:
    """Bootstrap servers with curl and Docker."""


@server.command()
@global_options
@output_option
def bootstrap(options: GlobalOptions, output_format: str) -> None:
    """Set up Docker to run Kamal apps."""
    context = command_context(options)
    execute(context, build_bootstrap_plan(context), options, output_format)


# Everything after the first word of CMD belongs to CMD (`kdeploy server exec ls -la`).
@server.command("exec", context_settings={"ignore_unknown_options": True,
                                          "allow_interspersed_args": False})
@global_options
@click.option("-i", "--interactive", is_flag=True,
              help="Run the command interactively (use for console/bash).")
@click.option("--raw", is_flag=True, help=RAW_HELP)
@output_option
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(options: GlobalOptions, interactive: bool, raw: bool, output_format: str,
                 cmd: tuple[str, ...]) -> None:
    """Run a custom command on the server (use --help to show options)."""
    if raw and interactive:
        raise UsageError("Raw is not compatible with interactive")
    context = command_context(options)
    command = join_command(cmd)
    if raw:
        refuse_json(output_format)
        execute_raw(context, build_exec_plan(context, command, raw=True), options,
                    context.selection.hosts)
        return
    if interactive:
        if output_format == "json":
            raise UsageError("--output json does not apply to -i (an interactive session)")
        _exec_interactive(context, options, command)
        return
    plan = build_exec_plan(context, command)
    hosts = context.selection.hosts
    if output_format == "human" and not options.quiet:
        click.secho(f"Running '{command}' on {', '.join(hosts)}...", fg="magenta")
    execute(context, plan, options, output_format,
            report=lambda results: exec_report(hosts, results, quiet=options.quiet))


def _exec_interactive(context: CommandContext, options: GlobalOptions, command: str) -> None:
    config, selection = context.config, context.selection
    host = selection.primary_host
    if host is None:
        raise UsageError("No host to run the command on: the config has no servers")
    # Kamal runs pre-connect before its first SSH connection, interactive ones included.
    hooks = hook_context(context, "server exec",
                         verbosity=verbosity(options.verbose, options.quiet),
                         skip=options.skip_hooks)
    run_kamal_hook(hooks, "pre-connect", click.echo, lock=False)
    if not options.quiet:
        click.secho(f"Running '{command}' on {host} interactively...", fg="magenta")
    argv = ssh_argv(config, host, command)
    # exec replaces the process: what is still buffered would never reach a pipe.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)  # the session replaces kdeploy, as Kamal's `exec`
    except OSError as error:
        raise UsageError(f"Cannot start ssh: {error.strerror}") from None


