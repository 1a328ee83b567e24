"""The `kdeploy` command tree: Kamal's command names, one module per command group."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import traceback
import warnings
from itertools import pairwise
from typing import Any

import click

from kdeploy import __version__
from kdeploy.cli.group_help import CommandGroup
from kdeploy.errors import Interrupted, KdeployError, UsageError
from kdeploy.events import current_stream, envelope, use_stream
from kdeploy.run.process_owner import SignalReceived, owning_processes

CONTEXT_SETTINGS = {"help_option_names": ["--help"], "max_content_width": 100}


# Commands whose processes must outlive kdeploy: the sandbox's daemons.
UNOWNED_COMMANDS = ("sandbox",)


class KdeployGroup(click.Group):
    """A click group that turns every expected error into one line and its exit code.

    Every other command runs under a ProcessOwner: on SIGINT, SIGTERM or SIGHUP whatever it
    started is stopped before kdeploy exits with 128 + the signal. Under `--output json` an
    error (click's usage errors too) is also the stream's terminal `error` event on stdout.
    """

    group_class = CommandGroup  # each group (`@cli.group()`) has its own `help [SUBCOMMAND]`

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        use_stream(None)  # a new command: no event written yet
        ctx.meta[_ARGS_KEY] = list(args)
        # A config alias is expanded first (cli/aliases.py): what follows sees the real command.
        try:
            args = self._expand_aliases(ctx, args)
        except KdeployError as error:  # before invoke: its handler is not there yet
            _fail(error, ctx)
        ctx.meta[_ARGS_KEY] = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            _usage_failed(ctx, error)
            raise

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

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = MODULE_OF_COMMAND.get(cmd_name)
        if module is not None:
            _import_command_module(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            if _subcommand(ctx) in UNOWNED_COMMANDS:
                return super().invoke(ctx)
            with owning_processes():
                return super().invoke(ctx)
        except SignalReceived as stop:
            _fail(Interrupted(f"Interrupted by {stop}", stop.signum), ctx)
        except KdeployError as error:
            _fail(error, ctx)
        except click.UsageError as error:
            _usage_failed(ctx, error)
            raise


_ARGS_KEY = "kdeploy.args"


def wants_json(args: list[str]) -> bool:
    """Whether a command line asks for JSON: `--output json`, `--output=json`, `config --json`."""
    words = args[:args.index("--")] if "--" in args else args
    return ("--output=json" in words or ("config" in words and "--json" in words)
            or ("--output", "json") in pairwise(words))


def _subcommand(ctx: click.Context) -> str | None:
    # Click 8 keeps the subcommand's name in protected_args (deprecated), click 9 in args.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        words = [*getattr(ctx, "protected_args", ()), *ctx.args]
    return words[0] if words else None


def _fail(error: KdeployError, ctx: click.Context) -> None:
    if error.silent:  # the run's summary said it (`--check --exit-code`: changes pending)
        sys.exit(error.exit_code)
    try:
        click.secho(f"ERROR: {error.message}", fg="red", err=True)
        if os.environ.get("KDEPLOY_DEBUG"):
            traceback.print_exc()
        _error_event(ctx, error.kind, error.message, error.exit_code)
    except OSError:
        pass  # the terminal went away (SIGHUP): the exit code still tells
    sys.exit(error.exit_code)


def _usage_failed(ctx: click.Context, error: click.UsageError) -> None:
    # click still prints its usage text to stderr (the caller re-raises); JSON gets the event.
    with contextlib.suppress(OSError):
        _error_event(ctx, "usage", error.format_message(), error.exit_code)


def _error_event(ctx: click.Context, kind: str, message: str, exit_code: int) -> None:
    # Only when the command line asked for JSON, and only when its stream has no terminal
    # event yet (a run's summary already carries the failure and the exit code).
    if not wants_json(ctx.meta.get(_ARGS_KEY, [])):
        return
    stream = current_stream()
    if stream is None:
        event = envelope("error", 1, {"exit_code": exit_code, "kind": kind, "message": message})
        click.echo(json.dumps(event))
    elif not stream.terminal_written:
        stream.error(kind, message, exit_code)


@click.group(cls=KdeployGroup, context_settings=CONTEXT_SETTINGS)
def cli() -> None:
    """Deploy a Kamal 2 config (config/deploy.yml) through Ansible."""


# Each command group lives in its own module and registers itself on `cli` when imported. A
# command line imports only the module of its command (KdeployGroup.get_command), which spares
# the rest of them at every start; help and listings import them all. tests/unit/test_cli_lazy.py
# checks this table against what each module registers.
COMMANDS_BY_MODULE = {
    "main": ("config", "docs", "help", "init", "version"),
    "setup": ("setup", "export"),
    # `app`: deploy.py adds `app boot` to app.py's group, and imports app.py for it.
    "deploy": ("deploy", "redeploy", "rollback", "app"),
    "accessory": ("accessory",),
    "proxy": ("proxy",),
    "build": ("build",),
    "prune": ("prune",),
    "remove": ("remove", "details"),
    "registry": ("registry",),
    "server": ("server",),
    "lock": ("lock", "audit"),
    "secrets": ("secrets",),
    "upgrade": ("upgrade",),
    "sandbox": ("sandbox",),
}
COMMAND_MODULES = tuple(COMMANDS_BY_MODULE)
MODULE_OF_COMMAND = {command: module for module, commands in COMMANDS_BY_MODULE.items()
                     for command in commands}


def _import_command_module(module: str) -> None:
    # import_module, not `from kdeploy.cli import main`: that would return the function below.
    importlib.import_module(f"kdeploy.cli.{module}")


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        _import_command_module(module)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kdeploy")


__all__ = ["__version__", "cli", "main"]
