"""`kdeploy setup` and `kdeploy export`: bootstrap hosts, boot accessories and the app.

`setup` builds and pushes the image first unless -P, as Kamal's setup (its `deploy` runs `build
deliver`). `export` never builds: it writes the run for the version as given.
"""

from __future__ import annotations

from pathlib import Path

import click

from kdeploy.cli import cli
from kdeploy.cli.deploy import build_and_push, no_cache_option, skip_push_option, without_build
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.run_command import execute
from kdeploy.plan import Plan, SetupOptions, build_setup_plan
from kdeploy.run.private_data_dir import export_command_line, write_private_data_dir
from kdeploy.selection import CommandContext

_setup_options = (
    click.option("--with-accessories", is_flag=True,
                 help="With -r/-h: also boot accessories whose hosts are inside the filter."),
)


def _with_setup_options(command):  # type: ignore[no-untyped-def]
    for option in reversed(_setup_options):
        command = option(command)
    return command


def _setup_plan(options: GlobalOptions, skip_push: bool,
                with_accessories: bool) -> tuple[CommandContext, Plan]:
    context = command_context(options)
    plan = build_setup_plan(context, SetupOptions(skip_push=skip_push,
                                                  with_accessories=with_accessories))
    return context, plan


@cli.command()
@global_options
@skip_push_option
@no_cache_option
@_with_setup_options
@check_options
@output_option
def setup(options: GlobalOptions, skip_push: bool, no_cache: bool, with_accessories: bool,
          output_format: str, check: CheckOptions) -> None:
    """Build and push (unless -P), bootstrap the hosts, boot the accessories and the app."""
    context, plan = _setup_plan(options, skip_push, with_accessories)
    # Nothing to build for a selection without app hosts (only accessories boot).
    if not skip_push and context.selection.app_hosts:
        if check.check:
            plan = without_build(plan, context.config)
        else:
            plan = build_and_push(context, plan, options, output_format, no_cache=no_cache)
    execute(context, plan, options, output_format, check=check)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@global_options
# Accepted as setup accepts it; export never builds, so it changes nothing.
@click.option("-P", "--skip-push", is_flag=True, hidden=True)
@_with_setup_options
def export(directory: Path, options: GlobalOptions, skip_push: bool,
           with_accessories: bool) -> None:
    """Write the Ansible private data dir of a setup to DIRECTORY and print how to run it.

    Nothing is built: the run pulls the version given (--version, VERSION or git HEAD).
    """
    context, plan = _setup_plan(options, skip_push, with_accessories)
    write_private_data_dir(directory.resolve(), context.config, plan, standalone=True)
    for notice in plan.notices:
        click.echo(notice)
    click.echo(f"Wrote {directory}. Run it with:")
    click.echo(f"  {export_command_line(directory.resolve(), plan)}")
    if plan.secret_names:
        click.echo("Export the secrets named above (values from your .kamal/secrets) first.")
