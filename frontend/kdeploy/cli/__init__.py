"""The `kdeploy` command tree: Kamal's command names, one module per command group."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

from kdeploy import __version__
from kdeploy.errors import KdeployError

CONTEXT_SETTINGS = {"help_option_names": ["--help"], "max_content_width": 100}


class KdeployGroup(click.Group):
    """A click group that turns every expected error into one line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KdeployError as error:
            click.secho(f"ERROR: {error.message}", fg="red", err=True)
            if os.environ.get("KDEPLOY_DEBUG"):
                traceback.print_exc()
            sys.exit(error.exit_code)


@click.group(cls=KdeployGroup, context_settings=CONTEXT_SETTINGS)
def cli() -> None:
    """Deploy a Kamal 2 config (config/deploy.yml) through Ansible."""


# Each command group lives in its own module and registers itself on `cli` when imported.
COMMAND_MODULES = ("main", "setup", "deploy", "app", "accessory", "proxy", "build", "prune",
                   "remove", "registry", "server", "lock", "sandbox")


def _register_commands() -> None:
    # import_module, not `from kdeploy.cli import main`: that would return the function below.
    for name in COMMAND_MODULES:
        importlib.import_module(f"kdeploy.cli.{name}")


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    cli(prog_name="kdeploy")


__all__ = ["__version__", "cli", "main"]
