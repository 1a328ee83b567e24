"""The `kdeploy` command tree: Kamal's command names, one module per command group."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
import warnings
from typing import Any

import click

from kdeploy import __version__
from kdeploy.errors import Interrupted, KdeployError, UsageError
from kdeploy.run.process_owner import SignalReceived, owning_processes

CONTEXT_SETTINGS = {"help_option_names": ["--help"], "max_content_width": 100}


# Commands whose processes must outlive kdeploy: the sandbox's daemons.
UNOWNED_COMMANDS = ("sandbox",)


class KdeployGroup(click.Group):
    """A click group that turns every expected error into one line and its exit code.

    Every other command runs under a ProcessOwner: on SIGINT, SIGTERM or SIGHUP whatever it
    started is stopped before kdeploy exits with 128 + the signal.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            if _subcommand(ctx) in UNOWNED_COMMANDS:
                return super().invoke(ctx)
            with owning_processes():
                return super().invoke(ctx)
        except SignalReceived as stop:
            _fail(Interrupted(f"Interrupted by {stop}", stop.signum))
        except KdeployError as error:
            _fail(error)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Expand a config alias first (cli/aliases.py): what follows sees the real command."""
        try:
            args = self._expand_aliases(ctx, args)
        except KdeployError as error:  # before invoke: its handler is not there yet
            _fail(error)
        return super().parse_args(ctx, args)

    def _expand_aliases(self, ctx: click.Context, args: list[str]) -> list[str]:
        from kdeploy.cli.aliases import expand_alias

        expanded: list[str] = []
        while args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            words = expand_alias(args[0], args[1:])
            if words is None:
                break
            if args[0] in expanded:
                loop = " -> ".join([*expanded, args[0]])
                raise UsageError(f"Alias {args[0]} runs itself: {loop}")
            expanded.append(args[0])
            args = words
        return args


def _subcommand(ctx: click.Context) -> str | None:
    # Click 8 keeps the subcommand's name in protected_args (deprecated), click 9 in args.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        words = [*getattr(ctx, "protected_args", ()), *ctx.args]
    return words[0] if words else None


def _fail(error: KdeployError) -> None:
    try:
        click.secho(f"ERROR: {error.message}", fg="red", err=True)
        if os.environ.get("KDEPLOY_DEBUG"):
            traceback.print_exc()
    except OSError:
        pass  # the terminal went away (SIGHUP): the exit code still tells
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
