"""`kdeploy deploy`, `redeploy`, `rollback VERSION`, `app boot`: Kamal's release commands.

Each is one Ansible run (split only at hooks that exist): lock, boot groups, unlock. A release that
does not become healthy on a host is removed there, the previous version keeps serving, and the
command exits 1 before any later role or boot group starts.
"""

from __future__ import annotations

from dataclasses import replace

import click

from kdeploy.cli import cli
from kdeploy.cli.app import app as app_group
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.run_command import execute
from kdeploy.config import Config
from kdeploy.plan import Plan, build_deploy_plan
from kdeploy.run.kamal_hooks import HookContext
from kdeploy.run.preflight import preflight
from kdeploy.selection import CommandContext

skip_push_option = click.option(
    "-P", "--skip-push", is_flag=True,
    help="Skip the image build and push: the hosts pull the version already in the registry.")
no_cache_option = click.option("--no-cache", is_flag=True, help="Build the image without cache.")


def release(command: str, options: GlobalOptions, output_format: str, *,
            skip_push: bool = True, no_cache: bool = False, version: str | None = None,
            check: CheckOptions | None = None) -> None:
    """Build and push unless skip_push (or --check), then run the deploy-like `command`'s plan."""
    context = command_context(options, version)
    plan = build_deploy_plan(context, command)
    if not skip_push:
        if check is not None and check.check:
            plan = without_build(plan, context.config)
        else:
            plan = build_and_push(context, plan, options, output_format, no_cache=no_cache)
    execute(context, plan, options, output_format, check=check)


def without_build(plan: Plan, config: Config) -> Plan:
    """`--check` implies -P: the registry is state too, so nothing is built or pushed."""
    return replace(plan, notices=(*plan.notices, "--check: the image is not built or pushed; "
                                  f"hosts are compared with {config.absolute_image}"))


def build_and_push(context: CommandContext, plan: Plan, options: GlobalOptions,
                   output_format: str, *, no_cache: bool) -> Plan:
    """Kamal's `build deliver` before the lock: check `plan`, build locally and push.

    The hosts pull the pushed version when the plan boots it. Used by deploy, redeploy and setup.

    Returns:
        `plan`, marked as having run the pre-connect hook (the build ran it; Kamal runs it once
        per command).

    Raises:
        ConfigError: the plan's preflight refuses the config (before the build starts).
        UsageError, HookError, DeployFailed: as `kdeploy.image.push_image`.
    """
    plan = replace(plan, hooks_done=("pre-connect",))
    # What the config gets wrong stops the command before a long build, not after it.
    preflight(context, plan, skip_hooks=options.skip_hooks)
    _push(context.config, options, output_format, no_cache, plan.command)
    return plan


def _push(config: Config, options: GlobalOptions, output_format: str, no_cache: bool,
          command: str) -> None:
    # Its lines go through the command's output (`message` events under --output json).
    # Imported here: commands that never build do not load the image package.
    from kdeploy.cli.build import build_output
    from kdeploy.image import push_image

    output = build_output(config, options, output_format)
    # The build's hooks are told the command that runs it (Kamal's KAMAL_COMMAND: setup too).
    hooks = HookContext(config=config, command=command, hosts=config.all_hosts)
    push_image(config, no_cache=no_cache, say=output.say, skip_hooks=options.skip_hooks,
               hook_context=hooks)


@cli.command()
@global_options
@skip_push_option
@no_cache_option
@check_options
@output_option
def deploy(options: GlobalOptions, skip_push: bool, no_cache: bool, output_format: str,
           check: CheckOptions) -> None:
    """Deploy the app: build and push (unless -P), boot the version, stop the old one, prune."""
    release("deploy", options, output_format, skip_push=skip_push, no_cache=no_cache,
            check=check)


@cli.command()
@global_options
@skip_push_option
@no_cache_option
@check_options
@output_option
def redeploy(options: GlobalOptions, skip_push: bool, no_cache: bool, output_format: str,
             check: CheckOptions) -> None:
    """Deploy the app without pruning (Kamal: deploy minus proxy and prune)."""
    release("redeploy", options, output_format, skip_push=skip_push, no_cache=no_cache,
            check=check)


@cli.command()
@click.argument("rollback_version", metavar="VERSION")
@global_options
@check_options
@output_option
def rollback(rollback_version: str, options: GlobalOptions, output_format: str,
             check: CheckOptions) -> None:
    """Roll back to VERSION, whose stopped container must still be on every app host."""
    release("rollback", options, output_format, version=rollback_version, check=check)


@app_group.command("boot")
@global_options
@output_option
def app_boot(options: GlobalOptions, output_format: str) -> None:
    """Boot the app on the servers (--version, else the image tagged latest[-dest])."""
    version = options.version
    if version is None:
        # Kamal's `version_or_latest`: the image the last boot tagged on the hosts.
        destination = options.destination or ""
        version = "latest" + (f"-{destination}" if destination else "")
    release("app boot", options, output_format, version=version)
