"""Run a plan: output, secrets, the lock safety net and the exit code, in one place."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from kdeploy.cli.hooked_run import run_with_hooks
from kdeploy.cli.options import GlobalOptions
from kdeploy.config import Config
from kdeploy.errors import DeployFailed, Interrupted, LockHeldError
from kdeploy.host_contract.names import secret_env_var
from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.run.failure import exit_code, failure_message
from kdeploy.run.interrupt import report_data, report_lines, settle_hosts
from kdeploy.run.lock_details import describe_held_lock
from kdeploy.run.process_owner import ProcessOwner, owning_processes
from kdeploy.run.result import RunResult
from kdeploy.run.runner import run_plan
from kdeploy.run.unreachable import explain_unreachable
from kdeploy.selection.context import CommandContext

output_option = click.option(
    "--output", "output_format", type=click.Choice(["human", "json"]), default="human",
    show_default=True, help="human: progress lines; json: one JSON object per event line.",
)


def secret_values(config: Config, plan: Plan) -> dict[str, str]:
    """Look up exactly the secrets the plan needs (Kamal reads secrets only when needed)."""
    return {secret_env_var(name): config.secrets[name] for name in plan.secret_names}


# Turns the results of the plan's report task ({host: result}) into (text for people, JSON data).
Report = Callable[[dict[str, dict[str, Any]]], tuple[str, dict[str, Any]]]


def execute(context: CommandContext, plan: Plan, options: GlobalOptions, output_format: str,
            report: Report | None = None) -> None:
    """Run `plan`, report progress and results, and exit with the documented exit codes.

    Args:
        context: the command's config, filters, selection and performer.
        plan: what to run.
        options: the global options (-v, -q).
        output_format: `human` or `json`.
        report: for commands that show what a task read (`lock status`, `audit`): renders the
            results of `plan.report_task` per host; shown before the summary.

    Raises:
        LockHeldError: somebody (kdeploy or Kamal) holds the deploy lock (exit 3).
        DeployFailed: a task failed or a host was unreachable (exit 1).
        Interrupted: a stop signal cut the command (exit 128 + the signal).
    """
    config = context.config
    # The run's own mark on the deploy lock, so a failed or cut run releases only its own lock.
    run_id = uuid.uuid4().hex
    plan = replace(plan, extravars={**plan.extravars, "kdeploy_run_id": run_id})
    secrets = secret_values(config, plan)
    values = [value for value in secrets.values() if len(value) >= 4]

    def redact(text: str) -> str:
        for value in values:
            text = text.replace(value, "[REDACTED]")
        return text

    output = (JsonOutput(redact=redact) if output_format == "json"
              else HumanOutput(verbose=options.verbose, quiet=options.quiet, redact=redact))
    for notice in plan.notices:
        output.notice(notice)
    output.say(f"--> kdeploy {plan.command} {' '.join(plan.ansible_playbook_args())}".rstrip())
    reported: dict[str, dict[str, Any]] = {}
    on_event = output.event if plan.report_task is None else _collecting(
        plan.report_task, reported, output.event)
    started = time.monotonic()
    with owning_processes() as owner:
        hooked = run_with_hooks(context, plan, secrets, output.say, on_event, options,
                                run_plan)
        # From here on a signal is only recorded: the lock release and the report must happen.
        with owner.deferring():
            result = hooked.result
            if result.interrupted or owner.interrupted:
                _stop_after_signal(config, plan, hooked.ran_plays, result, output, owner,
                                   run_id, time.monotonic() - started)
            explain_unreachable(config, plan, result, run_plan)
            if ((not result.ok or hooked.error) and result.lock_held is None
                    and plan.lock_host and hooked.ran_plays):
                _release_lock(config, plan, run_id)
            code = exit_code(result) if hooked.error is None else hooked.error.exit_code
            # A partly failed run still shows what the reachable hosts returned (audit); a held
            # lock shows nothing but the error.
            if report is not None and result.lock_held is None and (code == 0 or reported):
                output.report(*report(reported))
            output.summary(result, code)
            if owner.interrupted:  # a signal during the report: honour it once all is done
                raise Interrupted(f"Interrupted by {_signal_name(owner.signum)}", owner.signum)
    if result.lock_held is not None:
        raise LockHeldError(describe_held_lock(result.lock_held, config))
    if hooked.error is not None:
        raise hooked.error
    if code:
        raise DeployFailed(failure_message(result))


def _stop_after_signal(config: Config, plan: Plan, ran_plays: bool, result: RunResult,
                       output: HumanOutput | JsonOutput, owner: ProcessOwner, run_id: str,
                       elapsed: float) -> None:
    # Nothing local runs any more (the runner killed its tree; this also ends a hook's children).
    owner.stop(keep_masters=True)
    signum = result.signal or owner.signum or signal.SIGINT
    name = _signal_name(signum)
    output.say(f"--> Interrupted by {name}: stopping what this run still does on the hosts")
    settled = settle_hosts(config, result, elapsed)
    lock = ""
    if plan.lock_host and ran_plays and result.lock_held is None:
        if settled.unconfirmed:
            lock = (f"; the deploy lock is kept: {', '.join(settled.unconfirmed)} could not be "
                    "reached to stop this run's work there. Check those hosts, then release it "
                    "with `kdeploy lock release`")
        else:
            lock = "; " + _lock_outcome(_release_lock(config, plan, run_id))
    if owner.count < 2:  # a second signal skips the report, never the cleanup
        output.report("\n".join(["--> State of each host", *report_lines(settled)]),
                      {"interrupted": {"signal": name, **report_data(settled)}})
    output.summary(result, Interrupted.code_for(signum))
    raise Interrupted(f"Interrupted by {name}{lock}", signum)


def _signal_name(signum: int | None) -> str:
    return signal.Signals(signum or signal.SIGINT).name


def _collecting(task: str, reported: dict[str, dict[str, Any]],
                on_event: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    # The registered result of `task` per host, from its runner_on_ok events.
    def collect(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == task:
            reported[data.get("host", "?")] = data.get("res") or {}
        on_event(event)

    return collect


def _release_lock(config: Config, plan: Plan, run_id: str) -> str:
    # The run failed or was cut after (or while) taking the lock: release it so the next deploy
    # can run. Only a lock this run took (its kdeploy-run file) goes: Kamal's or another run's
    # stays, even when this run never got to see the lock task's answer.
    release = replace(plan, command=f"{plan.command}_release_lock",
                      imports=(PlaybookImport("lock_release.yml", ("lock",)),),
                      tags=(), skip_tags=(), limit=plan.lock_host, notices=(),
                      secret_names=(), hook_points=(),
                      extravars={**plan.extravars, "kdeploy_lock_owner_run": run_id})
    answers: list[str] = []

    def collect(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == "Release the deploy lock.":
            answers.append(str((data.get("res") or {}).get("stdout") or "").strip())

    result = run_plan(config, release, {}, collect, cancellable=False)
    return answers[0] if answers else ("unreachable" if not result.ok else "")


def _lock_outcome(answer: str) -> str:
    if answer == "released":
        return "the deploy lock was released"
    if answer.startswith("kept"):
        return "the deploy lock was not taken by this run and stays"
    if answer == "unreachable":
        return "the deploy lock could not be released: run `kdeploy lock release`"
    return "no deploy lock was held"


def export_command_line(directory: Path, plan: Plan) -> str:
    """The plain ansible-playbook command that runs an exported directory like kdeploy does."""
    env = " ".join(f"{secret_env_var(name)}=…" for name in plan.secret_names)
    args = " ".join(plan.ansible_playbook_args())
    return (f"cd {directory / 'project'} && {env + ' ' if env else ''}ansible-playbook "
            f"-i ../inventory/hosts.yml -e @../env/extravars {plan.playbook} {args}").rstrip()
