"""`kdeploy build deliver|push|pull`: Kamal's image commands (docs/build.md).

`push` builds on this machine and pushes to the registry (`kdeploy.image`), `pull` pulls the
image on the filtered app hosts through Ansible (`playbooks/build_pull.yml`), `deliver` does
both. None of them takes the deploy lock, as in Kamal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.run_command import command_output, execute
from kdeploy.config import Config
from kdeploy.image import builder_setup, push_image
from kdeploy.image.commands import image_tags
from kdeploy.image.dev import build_dev
from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.plan.model import Plan
from kdeploy.plan.pull import build_pull_plan
from kdeploy.reports.build import pull_report, push_report
from kdeploy.run.kamal_hooks import hook_context, verbosity
from kdeploy.selection import CommandContext

no_cache_option = click.option("--no-cache", is_flag=True,
                               help="Build without using Docker's build cache.")


@cli.group()
def build() -> None:
    """Build the app image and deliver it to the servers."""


@build.command()
@global_options
@output_option
def deliver(options: GlobalOptions, output_format: str) -> None:
    """Build app and push app image to registry then pull image on servers."""
    context = command_context(options)
    # Planned first: a filter without app hosts fails before anything is built.
    plan = build_pull_plan(context, command="build deliver")
    _push(context, options, output_format, no_cache=False, subcommand="deliver")
    # The build ran pre-connect; Kamal runs it once per command.
    plan = replace(plan, hooks_done=("pre-connect",))
    _pull(context, plan, options, output_format)


def export_output_option(default: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`--output`, shared by kdeploy's output format and Kamal's export type of the build.

    Kamal's `build push|dev --output TYPE` is the `buildx --output type=TYPE`; kdeploy's
    `--output` is `human|json`. Neither Kamal type is named human or json, so one option takes
    both, and may be given twice: `--output json --output docker`.
    """
    return click.option(
        "--output", "outputs", multiple=True, metavar="human|json|TYPE",
        help="human or json: kdeploy's output (default human). Any other value: Kamal's export "
             f"type, `buildx --output type=TYPE` (default {default}). May be given twice.")


def split_outputs(outputs: tuple[str, ...], default_export: str) -> tuple[str, str]:
    """(output format, export type) from the `--output` values; the last of each kind wins."""
    formats = [value for value in outputs if value in ("human", "json")]
    exports = [value for value in outputs if value not in ("human", "json")]
    for value in exports:
        if not value or value.startswith("type="):
            raise click.BadParameter(f"{value!r}: give the export type alone (docker, "
                                     "registry, …), Kamal adds `type=`",
                                     param_hint="'--output'")
    return (formats or ["human"])[-1], (exports or [default_export])[-1]


@build.command()
@global_options
@no_cache_option
@export_output_option("registry")
def push(options: GlobalOptions, no_cache: bool, outputs: tuple[str, ...]) -> None:
    """Build and push app image to registry."""
    output_format, export_type = split_outputs(outputs, "registry")
    _push(command_context(options), options, output_format, no_cache=no_cache, subcommand="push",
          export_type=export_type)


@build.command()
@global_options
@no_cache_option
@export_output_option("docker")
def dev(options: GlobalOptions, no_cache: bool, outputs: tuple[str, ...]) -> None:
    """Build using the working directory, tag it as dirty, and push to local image store."""
    output_format, export_type = split_outputs(outputs, "docker")
    config = command_context(options).config
    output = build_output(config, options, output_format)
    started = time.monotonic()
    build_dev(config, say=output.say, export_type=export_type, no_cache=no_cache,
              show_build=not options.quiet)
    if isinstance(output, JsonOutput):
        output.summary_without_run(
            {"command": "build dev", "version": config.version,
             "image": f"{config.absolute_image}-dirty"},
            duration=time.monotonic() - started)


@build.command()
@global_options
@output_option
def pull(options: GlobalOptions, output_format: str) -> None:
    """Pull app image from registry onto servers."""
    context = command_context(options)
    _pull(context, build_pull_plan(context), options, output_format)


@build.command()
@global_options
@output_option
def create(options: GlobalOptions, output_format: str) -> None:
    """Create a build setup (Kamal's buildx builder on this machine)."""
    _builder_command(options, output_format, "create", builder_setup.create_builder)


@build.command()
@global_options
@output_option
def remove(options: GlobalOptions, output_format: str) -> None:
    """Remove build setup."""
    _builder_command(options, output_format, "remove", builder_setup.remove_builder)


@build.command()
@global_options
def details(options: GlobalOptions) -> None:
    """Show build setup (`docker context ls`, `docker buildx ls`)."""
    config = command_context(options).config
    click.echo(builder_setup.builder_details(config))


def _builder_command(options: GlobalOptions, output_format: str, action: str,
                     run: Callable[[Config, Callable[[str], None]], None]) -> None:
    config = command_context(options).config
    output = build_output(config, options, output_format)
    started = time.monotonic()
    run(config, output.say)
    if isinstance(output, JsonOutput):
        output.summary_without_run({"command": f"build {action}"},
                                   duration=time.monotonic() - started)


def _push(context: CommandContext, options: GlobalOptions, output_format: str, *,
          no_cache: bool, subcommand: str, export_type: str = "registry") -> None:
    config = context.config
    output = build_output(config, options, output_format)
    hooks = hook_context(context, f"build {subcommand}",
                         verbosity=verbosity(options.verbose, options.quiet),
                         skip=options.skip_hooks)
    started = time.monotonic()
    push_image(config, no_cache=no_cache, say=output.say, skip_hooks=options.skip_hooks,
               hook_context=hooks, export_type=export_type)
    # `deliver` reports once, after the pull; `push` runs no play, so its summary ends here.
    if isinstance(output, JsonOutput) and subcommand == "push":
        output.report(*push_report(config.absolute_image, image_tags(config)))
        output.summary_without_run(
            {"command": "build push", "version": config.version, "image": config.absolute_image},
            duration=time.monotonic() - started)


def _pull(context: CommandContext, plan: Plan, options: GlobalOptions,
          output_format: str) -> None:
    image = context.config.absolute_image
    execute(context, plan, options, output_format,
            report=lambda results: pull_report(image, results))


def build_output(config: Config, options: GlobalOptions,
                 output_format: str) -> HumanOutput | JsonOutput:
    """The output of a local build and push, redacting the registry password and build secrets."""
    # The registry password never is in the build's output, but a secret may be: redact both.
    names = [name for name in (config.registry.password_secret, *config.builder.secrets) if name]
    values = [config.secrets[name] for name in names if config.secrets is not None]
    return command_output(options, output_format, values)
