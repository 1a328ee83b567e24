"""Run a plan: output, secrets, the lock safety net and the exit code, in one place."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from kdeploy.cli.hooked_run import run_with_hooks
from kdeploy.cli.options import GlobalOptions
from kdeploy.cli.unreachable import explain_unreachable
from kdeploy.config import Config
from kdeploy.errors import DeployFailed, Interrupted, LockHeldError
from kdeploy.inventory import secret_env_var
from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.runner import HostFailure, RunResult, run_plan
from kdeploy.ssh_errors import classify_ssh_error

output_option = click.option(
    "--output", "output_format", type=click.Choice(["human", "json"]), default="human",
    show_default=True, help="human: progress lines; json: one JSON object per event line.",
)


def performer() -> str:
    """Who runs the deploy: git's user.email like Kamal, else the login name."""
    try:
        email = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True,
                               check=False, timeout=5).stdout.strip()
    except OSError:
        email = ""
    return email or getpass.getuser()


def secret_values(config: Config, plan: Plan) -> dict[str, str]:
    """Look up exactly the secrets the plan needs (Kamal reads secrets only when needed)."""
    return {secret_env_var(name): config.secrets[name] for name in plan.secret_names}


# Turns the results of the plan's report task ({host: result}) into (text for people, JSON data).
Report = Callable[[dict[str, dict[str, Any]]], tuple[str, dict[str, Any]]]


def execute(config: Config, plan: Plan, options: GlobalOptions, output_format: str,
            report: Report | None = None) -> None:
    """Run `plan`, report progress and results, and exit with DESIGN.md's exit codes.

    Args:
        config: the loaded config.
        plan: what to run.
        options: the global options (-v, -q).
        output_format: `human` or `json`.
        report: for commands that show what a task read (`lock status`, `audit`): renders the
            results of `plan.report_task` per host; shown before the summary.

    Raises:
        LockHeldError: somebody (kdeploy or Kamal) holds the deploy lock (exit 3).
        DeployFailed: a task failed or a host was unreachable (exit 1).
    """
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
    hooked = run_with_hooks(config, plan, secrets, output.say, on_event, options, performer,
                            run_plan)
    result = hooked.result
    if not result.interrupted:
        explain_unreachable(config, plan, result, run_plan)
    if ((not result.ok or hooked.error) and result.lock_held is None and plan.lock_host
            and hooked.ran_plays):
        _release_lock(config, plan, output.event)
    exit_code = _exit_code(result) if hooked.error is None else hooked.error.exit_code
    # A partly failed run still shows what the reachable hosts returned (audit); a held lock
    # shows nothing but the error.
    if report is not None and result.lock_held is None and (exit_code == 0 or reported):
        output.report(*report(reported))
    output.summary(result, exit_code)
    if result.lock_held is not None:
        raise LockHeldError(result.lock_held)
    if result.interrupted:
        raise Interrupted("Interrupted" + (": the deploy lock was released"
                                           if plan.lock_host and hooked.ran_plays else ""))
    if hooked.error is not None:
        raise hooked.error
    if exit_code:
        raise DeployFailed(_failure_message(result))


def _collecting(task: str, reported: dict[str, dict[str, Any]],
                on_event: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    # The registered result of `task` per host, from its runner_on_ok events.
    def collect(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == task:
            reported[data.get("host", "?")] = data.get("res") or {}
        on_event(event)

    return collect


def _release_lock(config: Config, plan: Plan, on_event: object) -> RunResult:
    # The run failed after (or while) taking the lock: release it so the next deploy can run.
    # Releasing is a no-op when the lock dir is absent, and a lock held by someone else was
    # already reported as lock_held above, so this never removes another deployer's lock.
    release = replace(plan, command=f"{plan.command}_release_lock",
                      imports=(PlaybookImport("lock_release.yml", ("lock",)),),
                      tags=(), skip_tags=(), limit=plan.lock_host, notices=(),
                      secret_names=())
    return run_plan(config, release, {}, lambda event: None)


def _exit_code(result: RunResult) -> int:
    if result.lock_held is not None:
        return LockHeldError.exit_code
    if result.interrupted:
        return Interrupted.exit_code
    return 0 if result.ok else DeployFailed.exit_code


def _failure_message(result: RunResult) -> str:
    # One line per host; a refused host key adds what to do about it on the next line.
    lines = []
    for failure in result.failures:
        if failure.unreachable:
            lines += _unreachable_lines(failure)
            continue
        # The first line says what failed; the rest (a log tail) was shown under the host.
        summary = (failure.message.splitlines() or [""])[0]
        lines.append(f"{failure.host} failed at '{failure.task}': {summary}")
    return "\n".join(lines) or f"ansible-playbook ended with status {result.status}"


def _unreachable_lines(failure: HostFailure) -> list[str]:
    """An unreachable host: where it failed, ssh's reason, and the fix for a refused host key."""
    fault = classify_ssh_error(failure.message, failure.host)
    play = f" (play '{failure.play}')" if failure.play else ""
    lines = [f"{failure.host} unreachable at '{failure.task}'{play}: {fault.summary()}"]
    if fault.fix:
        lines.append(f"  To fix: {fault.fix}.")
    return lines


def export_command_line(directory: Path, plan: Plan) -> str:
    """The plain ansible-playbook command that runs an exported directory like kdeploy does."""
    env = " ".join(f"{secret_env_var(name)}=…" for name in plan.secret_names)
    args = " ".join(plan.ansible_playbook_args())
    return (f"cd {directory / 'project'} && {env + ' ' if env else ''}ansible-playbook "
            f"-i ../inventory/hosts.yml -e @../env/extravars {plan.playbook} {args}").rstrip()
