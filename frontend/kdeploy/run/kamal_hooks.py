"""Kamal's hooks: executables in `<hooks_path>` that a command runs locally at fixed points.

Mirrors Kamal 2.11 (`lib/kamal/cli/base.rb#run_hook`, `lib/kamal/commands/hook.rb`,
`lib/kamal/tags.rb`): the hook runs as `/usr/bin/env <hooks_path>/<hook>` in the project dir with
the `KAMAL_*` details (and, for some hooks, every secret) added to the environment; a hook that
does not exist is skipped; one that exits non-zero, or cannot be executed, aborts the command with
``Hook `<hook>` failed:`` and SSHKit's report of the command. Where a hook sits in each command is
the plan's concern (`plan/hook_points.py`); running the plays around it is `run/hooked.py`'s.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kdeploy.errors import DeployFailed
from kdeploy.selection import matches_pattern

if TYPE_CHECKING:
    from kdeploy.config import Config
    from kdeploy.selection import CommandContext

# Kamal's hooks that get every secret in their environment (`run_hook …, secrets: true`).
SECRET_HOOKS = frozenset({"pre-connect", "pre-deploy", "post-deploy"})
# Kamal's CLI verbosity (`-v` debug, `-q` error) and what `hooks_output` maps to.
_LEVELS = {"verbose": "debug", "quiet": "error"}


class HookError(DeployFailed):
    """A hook failed: the command stops there (exit 1), as Kamal's HookError."""

    kind = "hook"


@dataclass(frozen=True)
class HookContext:
    """What every hook of one command run sees: Kamal's `details` and the output level."""

    config: Config
    command: str
    hosts: tuple[str, ...]
    roles: str | None = None  # the `-r` patterns, when given
    subcommand: str | None = None
    performer: str = "kdeploy"
    verbosity: str = "info"  # debug (-v), info, error (-q)
    skip: bool = False  # -H/--skip-hooks


@dataclass(frozen=True)
class HookRun:
    """One hook's finished process."""

    command: str
    returncode: int
    stdout: str
    stderr: str


def hook_context(context: CommandContext, command: str, *, verbosity: str = "info",
                 skip: bool = False, performer: object = None) -> HookContext:
    """What the hooks of one command are told, from the command's context.

    Args:
        context: the command's config, filters, selection and performer.
        command: the command as kdeploy names it; `lock acquire` is Kamal's command `lock` with
            subcommand `acquire`.
        verbosity: debug (-v), info or error (-q).
        skip: -H/--skip-hooks.
        performer: who runs it when the plan already says (else the context's performer).

    Raises:
        UsageError: the filters match nothing (the selection is worked out here on first use).
    """
    name, _, subcommand = command.partition(" ")
    hosts = context.selection.hosts
    return HookContext(config=context.config, command=name, subcommand=subcommand or None,
                       hosts=hosts, roles=context.filters.roles,
                       performer=str(performer or context.performer), verbosity=verbosity,
                       skip=skip)


def verbosity(verbose: bool, quiet: bool) -> str:
    """Kamal's CLI verbosity: `-q` wins over `-v` (it is applied last)."""
    return "error" if quiet else "debug" if verbose else "info"


def hook_command(config: Config, hook: str) -> str:
    """The hook as Kamal names it: `File.join(hooks_path, hook)`, relative to the project."""
    return f"{config.hooks_path.rstrip('/')}/{hook}"


def hook_exists(config: Config, hook: str) -> bool:
    """Kamal runs a hook whenever its path exists; a non-executable one then fails."""
    return (config.project_dir / hook_command(config, hook)).exists()


def kamal_roles(config: Config, patterns: str) -> tuple[str, ...]:
    """The roles `-r` names, as Kamal lists them: filter by filter, roles in name order."""
    names = sorted(role.name for role in config.roles)
    return tuple(dict.fromkeys(name for pattern in patterns.split(",") for name in names
                               if matches_pattern(name, pattern)))


def hook_env(context: HookContext, hook: str, *, lock: bool, hosts: tuple[str, ...] | None = None,
             runtime: int | None = None) -> dict[str, str]:
    """The `KAMAL_*` variables (and secrets) Kamal adds to a hook's environment.

    Args:
        context: the command run.
        hook: the hook's name (decides whether secrets are passed).
        lock: whether the run holds the deploy lock at this point (`KAMAL_LOCK`).
        hosts: the hosts of this point when they differ from the run's (a boot group).
        runtime: seconds the deploy took (`KAMAL_RUNTIME`, post-deploy).
    """
    config = context.config
    version = config.version
    details: dict[str, str | None] = {
        "RECORDED_AT": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "PERFORMER": context.performer,
        "DESTINATION": config.destination,
        "VERSION": version,
        "SERVICE_VERSION": "@".join(p for p in (config.service, _abbreviated(version)) if p),
        "SERVICE": config.service,
        "HOSTS": ",".join(context.hosts if hosts is None else hosts),
        "ROLES": ",".join(kamal_roles(config, context.roles)) if context.roles else None,
        "LOCK": "true" if lock else "false",
        "COMMAND": context.command,
        "SUBCOMMAND": context.subcommand,
        "RUNTIME": None if runtime is None else str(runtime),
    }
    env = {f"KAMAL_{key}": value for key, value in details.items() if value is not None}
    if hook in SECRET_HOOKS and config.secrets is not None:
        env |= {name: config.secrets[name] for name in config.secrets.names()}
    return env


def hook_output_level(context: HookContext, hook: str) -> str:
    """The verbosity a hook runs at: `hooks_output` decides only at the default verbosity."""
    setting = context.config.hooks_output
    level = setting.get(hook) if isinstance(setting, Mapping) else setting
    if context.verbosity == "info" and level in _LEVELS:
        return _LEVELS[level]
    return context.verbosity


def run_kamal_hook(context: HookContext, hook: str, say: Callable[[str], None], *, lock: bool,
                   hosts: tuple[str, ...] | None = None, runtime: int | None = None) -> bool:
    """Run one Kamal hook if it exists (and hooks are not skipped); True when it ran.

    Output follows Kamal: at the default level the start and end are announced and the hook's
    output is hidden, `-v` (or `hooks_output: verbose`) shows it, `-q` (or `quiet`) shows
    nothing.

    Raises:
        HookError: the hook exited non-zero or could not be executed.
    """
    if context.skip or not hook_exists(context.config, hook):
        return False
    level = hook_output_level(context, hook)
    command = hook_command(context.config, hook)
    if level != "error":
        say(f"--> Running hook {hook} ({command})")
    env = hook_env(context, hook, lock=lock, hosts=hosts, runtime=runtime)
    run = execute_hook(context.config.project_dir, command, env)
    if level == "debug":
        for line in (run.stdout + run.stderr).splitlines():
            say(f"    {line}")
    if run.returncode != 0:
        raise HookError(hook_failure(hook, run))
    return True


def execute_hook(project_dir: Path, command: str, env: Mapping[str, str]) -> HookRun:
    """Run a hook as Kamal does (`/usr/bin/env <command>` in the project dir), output captured."""
    result = subprocess.run(["/usr/bin/env", command], cwd=project_dir, env={**os.environ, **env},
                            capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    return HookRun(command, result.returncode, result.stdout, result.stderr)


def hook_failure(hook: str, run: HookRun) -> str:
    """Kamal's message: ``Hook `X` failed:`` and SSHKit's report of the failed command.

    SSHKit reports the raw wait status of a local command (exit 1 -> 256), and "Nothing
    written" for an empty stream.
    """
    status = -run.returncode if run.returncode < 0 else run.returncode << 8
    return (f"Hook `{hook}` failed:\n"
            f"{run.command} exit status: {status}\n"
            f"{run.command} stdout: {run.stdout.strip() or 'Nothing written'}\n"
            f"{run.command} stderr: {run.stderr.strip() or 'Nothing written'}")


def _abbreviated(version: str | None) -> str | None:
    # Kamal's abbreviated_version: 7 characters, except `<sha>_uncommitted_<hex>` versions.
    if version is None:
        return None
    return version if "_" in version else version[:7]
