"""`kdeploy proxy …`: Kamal's proxy subcommands (docs/proxy.md), for either engine.

The proxy runs on the hosts of the roles behind it. `boot` starts a stopped proxy or runs a
missing one and leaves a running one alone; `reboot` replaces it (with `--rolling` one host at a
time, so the other hosts keep serving); `remove` refuses while other apps are installed on a
proxy host unless `--force`. The engine (`kamal-proxy` or `caddy`) comes from `x-kdeploy/proxy`.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from kdeploy.cli import cli
from kdeploy.cli.app import run_ssh
from kdeploy.cli.confirm import can_ask, confirm
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.run_command import execute
from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.host_contract.proxy import host_proxy
from kdeploy.plan.proxy import (
    ProxyLogsOptions,
    ProxyOptions,
    build_proxy_logs_plan,
    build_proxy_plan,
    proxy_targets,
)
from kdeploy.reports.proxy import proxy_report
from kdeploy.run.ssh_command import ssh_argv


@cli.group()
def proxy() -> None:
    """Manage the proxy in front of the web roles: Kamal's `proxy` commands."""


def _run(action: str, options: GlobalOptions, output_format: str,
         check: CheckOptions | None = None, **extra: Any) -> None:
    context = command_context(options)
    plan = build_proxy_plan(context, action, ProxyOptions(**extra))
    hosts = proxy_targets(context.config, context.selection)
    execute(context, plan, options, output_format,
            report=(lambda results: proxy_report(hosts, results, options.quiet))
            if action == "details" else None, check=check)


@proxy.command("boot")
@global_options
@check_options
@output_option
def proxy_boot(options: GlobalOptions, output_format: str, check: CheckOptions) -> None:
    """Boot the proxy on its hosts (a running proxy is left alone)."""
    _run("boot", options, output_format, check=check)


# The commands that take only the global options, with their help: one definition for all.
_OPTIONS_ONLY_ACTIONS = {
    "start": "Start the existing proxy container on its hosts.",
    "stop": "Stop the proxy container on its hosts.",
    "restart": "Restart the proxy container on its hosts: stop, then start.",
    "details": "Show details about the proxy container on its hosts.",
}


def _options_only_command(action: str, help_text: str) -> None:
    @proxy.command(action, help=help_text)
    @global_options
    @output_option
    def command(options: GlobalOptions, output_format: str) -> None:
        _run(action, options, output_format)


for _action, _help in _OPTIONS_ONLY_ACTIONS.items():
    _options_only_command(_action, _help)


@proxy.command("reboot")
@global_options
@click.option("--rolling", is_flag=True, help="Reboot the proxy one host at a time.")
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@check_options
@output_option
def proxy_reboot(options: GlobalOptions, rolling: bool, confirmed: bool,
                 output_format: str, check: CheckOptions) -> None:
    """Reboot the proxy: stop and remove its container, run the pinned image again."""
    # A check causes no outage: no question.
    confirm(confirmed or check.check, "This will cause a brief outage on each host. Are you "
            "sure?", "proxy reboot", can_ask)
    _run("reboot", options, output_format, check=check, rolling=rolling)


@proxy.command("remove")
@global_options
@click.option("--force", is_flag=True,
              help="Remove the proxy even when other apps are still installed on its hosts.")
@output_option
def proxy_remove(options: GlobalOptions, force: bool, output_format: str) -> None:
    """Remove the proxy container, its image and its directory from its hosts."""
    _run("remove", options, output_format, force=force)


@proxy.command("logs")
@global_options
@click.option("-s", "--since", default=None,
              help="Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m).")
@click.option("-n", "--lines", type=int, default=None,
              help="Lines to show from each server (100; all with -s/-g).")
@click.option("-g", "--grep", default=None, help="Show only lines matching this grep pattern.")
@click.option("-f", "--follow", is_flag=True,
              help="Follow the log on the first proxy host (or the host given with -h).")
@click.option("-T", "--skip-timestamps", is_flag=True, help="Do not prefix lines with timestamps.")
@output_option
def proxy_logs(options: GlobalOptions, since: str | None, lines: int | None, grep: str | None,
               follow: bool, skip_timestamps: bool, output_format: str) -> None:
    """Show log lines from the proxy on its hosts."""
    context = command_context(options)
    hosts = proxy_targets(context.config, context.selection)
    if follow:
        _follow(context.config, hosts, grep, not skip_timestamps)
        return
    logs = ProxyLogsOptions(since=since, lines=lines, grep=grep, skip_timestamps=skip_timestamps)
    plan = build_proxy_logs_plan(context, logs)
    execute(context, plan, options, output_format,
            report=lambda results: proxy_report(hosts, results, options.quiet,
                                                name="proxy logs"))


def _follow(config: Config, hosts: tuple[str, ...], grep: str | None, timestamps: bool) -> None:
    # Kamal's follow_logs: `docker logs` over an interactive ssh on the first proxy host.
    if not hosts:
        raise UsageError("No proxy hosts inside the filters")
    host = hosts[0]
    command = " ".join(["docker", "logs", host_proxy(config, host)["container"],
                        *(["--timestamps"] if timestamps else []),
                        "--tail", "10", "--follow", "2>&1"])
    if grep:
        command += f" | grep {shlex.quote(grep)}"
    argv = ssh_argv(config, host, command)
    click.echo(f"Following logs on {host}...\n{shlex.join(argv)}")
    sys.exit(run_ssh(argv))


