"""`kdeploy lock acquire|release|status` and `kdeploy audit`: Kamal's lock and audit.

The lock lives on the filtered primary host in `~/.kamal/lock-<service>[-<dest>]`, written and
read exactly as Kamal does, so either tool sees and releases the other's lock. `audit` shows the
last lines of `~/.kamal/<service>[-<dest>]-audit.log` on every filtered host.
"""

from __future__ import annotations

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.run_command import execute
from kdeploy.plan import build_audit_plan, build_lock_plan
from kdeploy.reports.lock import LOCK_REPORTS, audit_report


@cli.group()
def lock() -> None:
    """Manage the deploy lock (shared with Kamal)."""


@lock.command()
@global_options
@click.option("-m", "--message", required=True, help="A lock message.")
@output_option
def acquire(options: GlobalOptions, message: str, output_format: str) -> None:
    """Acquire the deploy lock."""
    _run_lock("acquire", options, output_format, message=message)


@lock.command()
@global_options
@output_option
def release(options: GlobalOptions, output_format: str) -> None:
    """Release the deploy lock."""
    _run_lock("release", options, output_format)


@lock.command()
@global_options
@output_option
def status(options: GlobalOptions, output_format: str) -> None:
    """Report lock status."""
    _run_lock("status", options, output_format)


@cli.command()
@global_options
@output_option
def audit(options: GlobalOptions, output_format: str) -> None:
    """Show the audit log from the servers (last 50 lines per host)."""
    context = command_context(options)
    plan = build_audit_plan(context)
    hosts = context.selection.hosts
    execute(context, plan, options, output_format,
            report=lambda results: audit_report(hosts, results))


def _run_lock(action: str, options: GlobalOptions, output_format: str, message: str = "") -> None:
    context = command_context(options)
    plan = build_lock_plan(context, action, message)
    host = plan.extravars["kdeploy_lock_host"]
    execute(context, plan, options, output_format,
            report=lambda results: LOCK_REPORTS[action](host, results.get(host, {})))


