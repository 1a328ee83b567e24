"""Run a command's plan from the command line: the output `--output`, `-v` and `-q` ask for."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from kdeploy.cli.options import CheckOptions, GlobalOptions
from kdeploy.output import HumanOutput, JsonOutput, redactor
from kdeploy.plan import Plan
from kdeploy.plan.check import for_check
from kdeploy.reports.common import REPORT_FORMAT_VAR
from kdeploy.run import kamal_hooks
from kdeploy.run.execute import Report, execute_plan
from kdeploy.run.hooked import hooks_to_run
from kdeploy.selection import CommandContext


def execute(context: CommandContext, plan: Plan, options: GlobalOptions, output_format: str,
            report: Report | None = None, check: CheckOptions | None = None) -> None:
    """Run `plan`, report progress and results; raise with the documented exit codes.

    Args:
        context: the command's config, filters, selection and performer.
        plan: what to run.
        options: the global options (-v, -q, -H, --lock-wait*).
        output_format: `human` or `json`.
        report: renders the results of `plan.report_task` per host (see `execute_plan`).
        check: `--check/--diff/--exit-code` (plan/check.py: no lock, no hooks, check mode).

    Raises:
        LockHeldError: somebody (kdeploy or Kamal) holds the deploy lock (exit 3).
        DeployFailed: a task failed or a host was unreachable (exit 1).
        Interrupted: a stop signal cut the command (exit 128 + the signal).
        ChangesPending: `--check --exit-code` found changes to make (exit 4).
    """
    check = check or CheckOptions()
    if check.check:
        # One place for every command: the builders never know about check mode.
        hooks = hooks_to_run(context.config, plan, skip_hooks=options.skip_hooks)
        plan = for_check(plan, diff=check.diff, hooks=hooks)
    elif check.diff:
        plan = replace(plan, diff=True)
    if options.verbose >= 2:
        # Ansible's own verbosity (-vv and up); ansible-playbook inherits this environment.
        os.environ["ANSIBLE_VERBOSITY"] = str(options.verbose)
    if output_format == "json" and plan.report_task is not None:
        # The report tasks print JSON lines, not Kamal's tables, for the report's items.
        plan = replace(plan, extravars={**plan.extravars, REPORT_FORMAT_VAR: "json"})
    execute_plan(context, plan,
                 lambda secret_values: command_output(options, output_format, secret_values),
                 skip_hooks=options.skip_hooks,
                 verbosity=kamal_hooks.verbosity(options.verbose, options.quiet), report=report,
                 lock_wait=options.lock_waiting, pending_exit=check.exit_code)


def nothing_to_do(command: str, context: CommandContext, text: str, options: GlobalOptions,
                  output_format: str) -> None:
    """End a command that finds nothing inside the filters to act on, as Kamal does (exit 0).

    People get `text`; a JSON stream gets it as a message, then its terminal summary.
    """
    output = command_output(options, output_format)
    output.say(text)
    if isinstance(output, JsonOutput):
        config = context.config
        output.summary_without_run({
            "command": command, "version": config.version,
            "image": config.absolute_image if config.version else None})


def command_output(options: GlobalOptions, output_format: str,
                   secret_values: Sequence[str] = ()) -> HumanOutput | JsonOutput:
    """The output of `--output` (human lines or JSON), never showing `secret_values`."""
    redact = redactor(secret_values)
    if output_format == "json":
        return JsonOutput(redact=redact)
    return HumanOutput(verbose=options.verbose == 1, quiet=options.quiet, redact=redact,
                       ansible_output=options.verbose >= 2)
