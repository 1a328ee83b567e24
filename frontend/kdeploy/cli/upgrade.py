"""`kdeploy upgrade`: Kamal's migration of Kamal 1.x hosts to 2.0 (plan/upgrade.py).

As Kamal's: the question unless `-y` (no terminal: `-y` is needed), the deploy lock, then on each
host (`--rolling`: one at a time) Traefik out, kamal-proxy in, the app booted from the image
tagged latest (or `--version`) and the accessories rebooted into the `kamal` network.
"""

from __future__ import annotations

import click

from kdeploy.cli import cli
from kdeploy.cli.confirm import can_ask, confirm
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.run_command import execute
from kdeploy.plan.upgrade import QUESTION, build_upgrade_plan


@cli.command()
@global_options
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without confirmation question.")
@click.option("--rolling", is_flag=True, help="Upgrade one host at a time.")
@output_option
def upgrade(options: GlobalOptions, confirmed: bool, rolling: bool, output_format: str) -> None:
    """Upgrade from Kamal 1.x to 2.0: replace Traefik with the proxy, reboot app and accessories."""
    confirm(confirmed, QUESTION, "upgrade", can_ask)
    # Kamal's proxy upgrade boots the app from the image tagged latest[-dest], unless --version.
    latest = "latest" + (f"-{options.destination}" if options.destination else "")
    context = command_context(options, options.version or latest)
    execute(context, build_upgrade_plan(context, rolling), options, output_format)
