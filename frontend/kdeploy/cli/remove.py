"""`kdeploy remove` and `kdeploy details`: Kamal's top-level commands over app and accessories.

`remove` asks Kamal's question on a terminal; without one it needs `-y` (a CI job must never
hang on a prompt, nor remove everything by accident). `details` prints what `docker ps` shows
for kamal-proxy, each app role and each accessory, per host.
"""

from __future__ import annotations

import sys

import click

from kdeploy.cli import cli
from kdeploy.cli.app import details_report
from kdeploy.cli.execute import execute, output_option, performer
from kdeploy.cli.options import GlobalOptions, global_options
from kdeploy.config import load_config, select
from kdeploy.errors import UsageError
from kdeploy.plan.app_commands import AppOptions, build_details_plan, build_remove_plan

QUESTION = "This will remove all containers and images. Are you sure?"


@cli.command()
@global_options
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@output_option
def remove(options: GlobalOptions, confirmed: bool, output_format: str) -> None:
    """Remove the app, accessories and registry session from the servers."""
    config = load_config(options.config_file, options.destination, version=options.version)
    plan = build_remove_plan(config, _app_options(options))
    if not confirmed:
        if not can_ask():
            raise UsageError("kdeploy remove removes all containers and images: pass -y to "
                             "confirm (there is no terminal to ask on)")
        if not click.confirm(QUESTION, default=False):
            click.secho("Aborted", fg="red")
            return
    execute(config, plan, options, output_format)


def can_ask() -> bool:
    """Whether a question can be asked: stdin and stdout are a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@cli.command()
@global_options
@output_option
def details(options: GlobalOptions, output_format: str) -> None:
    """Show details about all containers: kamal-proxy, app and accessories."""
    config = load_config(options.config_file, options.destination, version=options.version)
    app_options = _app_options(options)
    plan = build_details_plan(config, app_options)
    hosts = select(config, roles=options.roles, hosts=options.hosts,
                   primary=options.primary).hosts
    execute(config, plan, options, output_format,
            report=lambda results: details_report(hosts, results, options.quiet))


def _app_options(options: GlobalOptions) -> AppOptions:
    return AppOptions(roles=options.roles, hosts=options.hosts, primary=options.primary,
                      version=options.version, performer=performer())
