"""`kdeploy prune all|images|containers`: Kamal's prune on the filtered hosts, locked.

Each host runs Kamal's own docker commands (roles/prune) and records `Pruned images` /
`Pruned containers` in the audit log, between the lock plays on the filtered primary host.
"""

from __future__ import annotations

import click

from kdeploy.cli import cli
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.run_command import execute
from kdeploy.plan.maintenance import build_prune_plan


@cli.group()
def prune() -> None:
    """Prune old application images and containers."""


@prune.command("all")
@global_options
@check_options
@output_option
def prune_all(options: GlobalOptions, output_format: str, check: CheckOptions) -> None:
    """Prune unused images and stopped containers."""
    _run_prune("all", options, output_format, check)


@prune.command()
@global_options
@check_options
@output_option
def images(options: GlobalOptions, output_format: str, check: CheckOptions) -> None:
    """Prune unused images."""
    _run_prune("images", options, output_format, check)


@prune.command()
@global_options
@click.option("--retain", type=int, default=None, metavar="N",
              help="Number of containers to retain (default: retain_containers, else 5).")
@check_options
@output_option
def containers(options: GlobalOptions, retain: int | None, output_format: str,
               check: CheckOptions) -> None:
    """Prune all stopped containers, except the last n (default 5)."""
    _run_prune("containers", options, output_format, check, retain)


def _run_prune(what: str, options: GlobalOptions, output_format: str, check: CheckOptions,
               retain: int | None = None) -> None:
    context = command_context(options)
    plan = build_prune_plan(context, what, retain=retain)
    execute(context, plan, options, output_format, check=check)
