"""`kdeploy registry setup|remove|login|logout`: Kamal's registry commands, locally and on hosts.

Locally kdeploy runs `docker login` with the password on stdin (`kdeploy.image.local_docker`);
on the hosts, roles/registry (`docker login`, the password from `KDEPLOY_SECRET_<NAME>`,
no_log) or its `logout` tasks. `-L` skips the local half, `-R` the remote one. Not locked, as
in Kamal. `setup` is `login` and `remove` is `logout`, except with a local registry
(`localhost:PORT`): there they start or remove the `kamal-docker-registry` container on this
machine and touch no host (`kdeploy.image.local_registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.run_command import execute
from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.image import local, local_docker
from kdeploy.image.local_registry import remove_local_registry, setup_local_registry
from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.plan import Plan
from kdeploy.plan.maintenance import build_registry_plan, refuse_local_registry
from kdeploy.run.result import RunResult
from kdeploy.selection import CommandContext


def _skip_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("-R", "--skip-remote", is_flag=True,
                           help="Skip remote login (on the hosts).")(command)
    return click.option("-L", "--skip-local", is_flag=True,
                        help="Skip local login (on this machine).")(command)


@cli.group()
def registry() -> None:
    """Set up, log in to, log out of or remove the image registry."""


@registry.command()
@global_options
@_skip_options
@output_option
def setup(options: GlobalOptions, skip_local: bool, skip_remote: bool,
          output_format: str) -> None:
    """Setup local registry or log in to remote registry locally and remotely."""
    context = command_context(options)
    if context.config.registry.local:
        if not skip_local:
            _local_docker_installed()
            setup_local_registry(context.config, _sayer(options, output_format))
        _finish(context, None, options, output_format)
        return
    _login(context, options, skip_local, skip_remote, output_format)


@registry.command()
@global_options
@_skip_options
@output_option
def remove(options: GlobalOptions, skip_local: bool, skip_remote: bool,
           output_format: str) -> None:
    """Remove local registry or log out of remote registry locally and remotely."""
    context = command_context(options)
    if context.config.registry.local:
        if not skip_local:
            remove_local_registry(_sayer(options, output_format))
        _finish(context, None, options, output_format)
        return
    _logout(context, options, skip_local, skip_remote, output_format)


@registry.command()
@global_options
@_skip_options
@output_option
def login(options: GlobalOptions, skip_local: bool, skip_remote: bool,
          output_format: str) -> None:
    """Log in to remote registry locally and remotely."""
    context = command_context(options)
    refuse_local_registry(context.config, "login")
    _login(context, options, skip_local, skip_remote, output_format)


@registry.command()
@global_options
@_skip_options
@output_option
def logout(options: GlobalOptions, skip_local: bool, skip_remote: bool,
           output_format: str) -> None:
    """Log out of remote registry locally and remotely."""
    context = command_context(options)
    refuse_local_registry(context.config, "logout")
    _logout(context, options, skip_local, skip_remote, output_format)


def _login(context: CommandContext, options: GlobalOptions, skip_local: bool,
           skip_remote: bool, output_format: str) -> None:
    config = context.config
    # Planned first: a config the hosts cannot log in with fails before the local login.
    plan = None if skip_remote else build_registry_plan(context, "login")
    if not skip_local:
        username, password = local_docker.registry_credentials(config)
        local_docker.docker_login(config.registry, username, password)
        _say(options, output_format, f"Logged in to {_name(config)} locally")
    _finish(context, plan, options, output_format)


def _logout(context: CommandContext, options: GlobalOptions, skip_local: bool,
            skip_remote: bool, output_format: str) -> None:
    config = context.config
    plan = None if skip_remote else build_registry_plan(context, "logout")
    if not skip_local:
        local_docker.docker_logout(config.registry)
        _say(options, output_format, f"Logged out of {_name(config)} locally")
    _finish(context, plan, options, output_format)


def _local_docker_installed() -> None:
    # Kamal's ensure_docker_installed before a setup (buildx is not needed to run a registry).
    if not local.run_local(["docker", "--version"]).ok:
        raise UsageError("Docker is not installed locally")


def _sayer(options: GlobalOptions, output_format: str) -> Callable[[str], None]:
    return lambda text: _say(options, output_format, text)


def _name(config: Config) -> str:
    return config.registry.server or "Docker Hub"


def _say(options: GlobalOptions, output_format: str, text: str) -> None:
    # The local half has no runner events: one line for people, one message object for JSON.
    if output_format == "json":
        JsonOutput().say(text)
    else:
        HumanOutput(quiet=options.quiet).say(text)


def _finish(context: CommandContext, plan: Plan | None, options: GlobalOptions,
            output_format: str) -> None:
    if plan is not None:
        execute(context, plan, options, output_format)
    elif output_format == "json":
        # JSON readers wait for the summary object, even when nothing ran on a host (-R).
        JsonOutput().summary(RunResult(status="successful"), 0)
