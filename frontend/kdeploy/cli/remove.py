"""`kdeploy remove` and `kdeploy details`: Kamal's top-level commands over app and accessories.

`remove` asks Kamal's question on a terminal; without one it needs `-y` (a CI job must never
hang on a prompt, nor remove everything by accident). Unlike Kamal, it keeps the accessories'
data (directories and named volumes) unless `--purge`, and says what it kept where. `details`
prints what `docker ps` shows for kamal-proxy, each app role and each accessory, per host.
"""

from __future__ import annotations

from dataclasses import replace

import click

from kdeploy.cli import cli
from kdeploy.cli.confirm import can_ask
from kdeploy.cli.options import (
    CheckOptions,
    GlobalOptions,
    check_options,
    command_context,
    global_options,
    output_option,
)
from kdeploy.cli.run_command import execute
from kdeploy.errors import UsageError
from kdeploy.plan.accessory import REPORT_PART, REPORT_TASKS
from kdeploy.plan.app_commands import build_details_plan, build_remove_plan
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.reports.accessory import remove_report
from kdeploy.reports.app import details_report

QUESTION = "This will remove all containers and images. Are you sure?"


@cli.command()
@global_options
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@click.option("--purge", is_flag=True,
              help="Also delete the accessories' data: their directories and named volumes.")
@check_options
@output_option
def remove(options: GlobalOptions, confirmed: bool, purge: bool, output_format: str,
           check: CheckOptions) -> None:
    """Remove the app, accessories and registry session from the servers (data kept: --purge)."""
    context = command_context(options)
    plan = with_accessory_report(build_remove_plan(context), purge)
    hosts = dict(context.selection.accessory_hosts)
    if not confirmed and not check.check:  # a check removes nothing: no question
        if not can_ask():
            raise UsageError("kdeploy remove removes all containers and images: pass -y to "
                             "confirm (there is no terminal to ask on)")
        if not click.confirm(QUESTION, default=False):
            click.secho("Aborted", fg="red")
            return
    execute(context, plan, options, output_format,
            report=lambda results: remove_report(hosts, results, options.quiet,
                                                 name="remove"), check=check)


def with_accessory_report(plan: Plan, purge: bool) -> Plan:
    """The remove plan with `--purge` passed on and the accessories' report before the unlock."""
    imports = list(plan.imports)
    accessory_parts = [index for index, entry in enumerate(imports)
                       if isinstance(entry, PlaybookImport) and "accessory" in entry.tags]
    if accessory_parts:
        imports.insert(accessory_parts[-1] + 1, PlaybookImport(REPORT_PART, ("accessory",)))
    return replace(plan, imports=tuple(imports), report_task=REPORT_TASKS["remove"],
                   extravars=plan.extravars | {"accessory_purge": purge,
                                               "accessory_report": True})


@cli.command()
@global_options
@output_option
def details(options: GlobalOptions, output_format: str) -> None:
    """Show details about all containers: kamal-proxy, app and accessories."""
    context = command_context(options)
    plan = build_details_plan(context)
    hosts = context.selection.hosts
    execute(context, plan, options, output_format,
            report=lambda results: details_report(hosts, results, options.quiet,
                                                  name="details"))
