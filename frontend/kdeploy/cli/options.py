"""Kamal's global options, declared once and applied to every command that acts on hosts."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from kdeploy.config.defaults import LOCK_WAIT_INTERVAL, LOCK_WAIT_TIMEOUT
from kdeploy.errors import UsageError
from kdeploy.run.lock_wait import LockWait
from kdeploy.selection.context import CommandContext, Filters, load_context

# The logger that names each command a secrets file runs (config/secrets.py).
_SECRET_COMMANDS = "kdeploy.config.secrets"


@dataclass(frozen=True)
class GlobalOptions:
    """The options every Kamal command accepts (the class options of Kamal's cli/base.rb)."""

    config_file: str = "config/deploy.yml"
    destination: str | None = None
    roles: str | None = None
    hosts: str | None = None
    primary: bool = False
    version: str | None = None
    verbose: int = 0  # -v: every task; -vv and up: Ansible's verbosity
    quiet: bool = False
    skip_hooks: bool = False
    lock_wait: bool = False
    lock_wait_timeout: int = LOCK_WAIT_TIMEOUT
    lock_wait_interval: int = LOCK_WAIT_INTERVAL

    @property
    def filters(self) -> Filters:
        """`-r/-h/-p`."""
        return Filters(roles=self.roles, hosts=self.hosts, primary=self.primary)

    @property
    def lock_waiting(self) -> LockWait | None:
        """`--lock-wait` with its timeout and interval; None without `--lock-wait`."""
        if not self.lock_wait:
            return None
        return LockWait(timeout=self.lock_wait_timeout, interval=self.lock_wait_interval)


def command_context(options: GlobalOptions, version: str | None = None) -> CommandContext:
    """Load the config of `-c/-d` and hold it with the command's filters.

    Args:
        options: the global options.
        version: the version the command acts on when it is not `--version` (rollback's
            VERSION, app boot's latest image).

    Raises:
        ConfigError: the config cannot be loaded.
    """
    return load_context(options.config_file, options.destination,
                        version=version or options.version, filters=options.filters,
                        requested_version=options.version)


output_option = click.option(
    "--output", "output_format", type=click.Choice(["human", "json"]), default="human",
    show_default=True, help="human: progress lines; json: one JSON object per event line.",
)

_GLOBAL_OPTIONS = (
    click.option("-c", "--config-file", default="config/deploy.yml", show_default=True,
                 help="Path to the config file."),
    click.option("-d", "--destination", default=None, help="Destination: merges deploy.NAME.yml."),
    # --role: how people write it; Kamal (Thor, no prefix matching) only knows --roles.
    click.option("-r", "--roles", "--role", "roles", default=None,
                 help="Run only on these roles (comma separated, wildcards allowed)."),
    click.option("-h", "--hosts", default=None,
                 help="Run only on these hosts (comma separated, wildcards allowed)."),
    click.option("-p", "--primary", is_flag=True, help="Run only on the primary host."),
    click.option("--version", "version", default=None, metavar="VERSION",
                 help="The app version to act on (not kdeploy's own version)."),
    click.option("-v", "--verbose", count=True,
                 help="Show every task; -vv and up: Ansible's own output at that verbosity."),
    click.option("-q", "--quiet", is_flag=True, help="Show errors only."),
    click.option("-H", "--skip-hooks", is_flag=True, help="Do not run hooks."),
    # Kamal 2.12's class options, with its help texts and defaults.
    click.option("--lock-wait", is_flag=True,
                 help="Wait for the deploy lock if it's already held instead of failing "
                      "immediately."),
    click.option("--lock-wait-timeout", type=click.IntRange(min=0), default=LOCK_WAIT_TIMEOUT,
                 show_default=True, metavar="SECONDS",
                 help="Maximum seconds to wait for the deploy lock when --lock-wait is set."),
    click.option("--lock-wait-interval", type=click.IntRange(min=1), default=LOCK_WAIT_INTERVAL,
                 show_default=True, metavar="SECONDS",
                 help="Seconds between deploy lock polls when --lock-wait is set."),
)

_GLOBAL_NAMES = (
    "config_file", "destination", "roles", "hosts", "primary", "version", "verbose", "quiet",
    "skip_hooks", "lock_wait", "lock_wait_timeout", "lock_wait_interval",
)


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add Kamal's global options to a click command and pass them as `options: GlobalOptions`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _GLOBAL_NAMES}
        with secret_commands_shown(values["verbose"]):
            return command(*args, options=GlobalOptions(**values), **kwargs)

    for option in reversed(_GLOBAL_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True)
class CheckOptions:
    """`--check`, `--diff` and `--exit-code` of the commands that change hosts."""

    check: bool = False
    diff: bool = False
    exit_code: bool = False


_CHECK_OPTIONS = (
    click.option("--check", "check_mode", is_flag=True,
                 help="Run the plays in Ansible's check mode: nothing changes on the hosts, the "
                      "lock is not taken, hooks do not run; show what would change per host."),
    click.option("--diff", "diff_mode", is_flag=True,
                 help="Show what changes field by field (secrets by name only)."),
    click.option("--exit-code", "pending_exit", is_flag=True,
                 help="With --check: exit 4 when changes are pending."),
)


def check_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--check/--diff/--exit-code` to a click command, passed as `check: CheckOptions`.

    Raises (when the command runs):
        UsageError: `--exit-code` without `--check` (exit 2).
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check = CheckOptions(kwargs.pop("check_mode"), kwargs.pop("diff_mode"),
                             kwargs.pop("pending_exit"))
        if check.exit_code and not check.check:
            raise UsageError("--exit-code needs --check")
        return command(*args, check=check, **kwargs)

    for option in reversed(_CHECK_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@contextmanager
def secret_commands_shown(verbose: bool) -> Iterator[None]:
    """With -v, name on stderr each command a secrets file runs (its text, never its output).

    stderr, because the secrets are read while stdout may carry `--output json`.
    """
    if not verbose:
        yield
        return
    logger = logging.getLogger(_SECRET_COMMANDS)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("--> %(message)s"))
    # Said once, here, even if something configured the root logger.
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
