"""Run a command's plan: secrets, hooks, the lock safety net, the report and the exit, no click.

The front end chooses how progress is shown (`cli/run_command.py`: human lines or JSON) and
hands in a function that makes that output once the plan's secrets are known; everything else
about running a command happens here.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from kdeploy import __version__
from kdeploy.config import Config
from kdeploy.errors import (
    ChangesPending,
    DeployFailed,
    Interrupted,
    KdeployError,
    LockHeldError,
)
from kdeploy.plan import Plan
from kdeploy.run.failure import exit_code, failure_message
from kdeploy.run.hooked import run_with_hooks
from kdeploy.run.interrupt import report_items, report_lines, settle_hosts
from kdeploy.run.lock_details import describe_held_lock
from kdeploy.run.lock_release import lock_outcome, release_lock
from kdeploy.run.lock_wait import LockWait, LockWaiter
from kdeploy.run.preflight import preflight
from kdeploy.run.process_owner import ProcessOwner, owning_processes
from kdeploy.run.result import RunResult
from kdeploy.run.runner import run_plan
from kdeploy.run.unreachable import explain_unreachable
from kdeploy.selection import CommandContext


class Reporter(Protocol):
    """What a command's output offers (HumanOutput and JsonOutput)."""

    # The summary tells per host what failed and why (then the error need not repeat it).
    says_failures: bool

    def say(self, text: str) -> None:
        """One line of progress."""

    def notice(self, text: str) -> None:
        """A warning the plan carries."""

    def run_start(self, info: dict[str, Any]) -> None:
        """The run starts (`run_info`): after every check, before any hook or host."""

    def event(self, event: dict[str, Any]) -> None:
        """One ansible-runner event."""

    def waiting(self, state: dict[str, Any]) -> None:
        """`--lock-wait`: the lock is held, the next try follows (`run.lock_wait`)."""

    def report(self, text: str, data: dict[str, Any]) -> None:
        """What the command read, for people (`text`) and machines (`data`)."""

    def summary(self, result: RunResult, exit_code: int, *,
                error: tuple[str, str] | None = None) -> None:
        """The recap, the exit code and (kind, message) of what ended the command."""


# Turns the results of the plan's report task ({host: result}) into (text for people, JSON data).
Report = Callable[[dict[str, dict[str, Any]]], tuple[str, dict[str, Any]]]
# Makes the command's output, told the secret values it must never show.
MakeOutput = Callable[[Sequence[str]], Reporter]


def execute_plan(context: CommandContext, plan: Plan, make_output: MakeOutput, *,
                 skip_hooks: bool = False, verbosity: str = "info",
                 report: Report | None = None, lock_wait: LockWait | None = None,
                 pending_exit: bool = False) -> None:
    """Run `plan` with its hooks, report progress and results, and raise on failure.

    `runner.run_plan` is looked up in this module when the command runs and handed to every
    step that starts Ansible (hooks, the lock release, the unreachable check), so a test that
    replaces this module's `run_plan` replaces all of them.

    Args:
        context: the command's config, filters, selection and performer.
        plan: what to run.
        make_output: makes the output, given the secret values to redact.
        skip_hooks: `-H`: run no hook.
        verbosity: Kamal's verbosity for the hooks (debug, info, error).
        report: for commands that show what a task read (`lock status`, `audit`): renders the
            results of `plan.report_task` per host; shown before the summary.
        lock_wait: `--lock-wait`: wait for a held lock (Kamal 2.12) before the plan takes it;
            a plan that takes no lock ignores it.
        pending_exit: `--check --exit-code`: exit 4 when the check found changes to make.

    Raises:
        ConfigError: the config fails a check of `run.preflight` (exit 2); nothing ran.
        LockHeldError: somebody (kdeploy or Kamal) holds the deploy lock (exit 3); with
            `lock_wait`, `LockWaitTimedOut` or `LockHeldManually`.
        DeployFailed: a task failed or a host was unreachable (exit 1).
        Interrupted: a stop signal cut the command (exit 128 + the signal).
        ChangesPending: `pending_exit` and the check found changes (exit 4).
    """
    config = context.config
    # The run's own mark on the deploy lock, so a failed or cut run releases only its own lock.
    run_id = uuid.uuid4().hex
    plan = replace(plan, extravars={**plan.extravars, "kdeploy_run_id": run_id})
    if plan.lock_host is not None:
        # Kamal's lock details name git's user.name (the audit log names the performer).
        plan = replace(plan, extravars={**plan.extravars, "lock_performer": context.lock_owner})
    # Every refusal the config alone can cause comes now, before any hook or host.
    secrets = preflight(context, plan, skip_hooks=skip_hooks)
    output = make_output(list(secrets.values()))
    for notice in plan.notices:
        output.notice(notice)
    if plan.lock_host is None:
        if lock_wait is not None and plan.check:
            output.notice("--check: --lock-wait is ignored (a check takes no lock)")
        lock_wait = None  # nothing to wait for (`lock acquire` does not wait either, as Kamal)
    output.run_start(run_info(context, plan, run_id, lock_wait))
    reported: dict[str, dict[str, Any]] = {}
    on_event = output.event if plan.report_task is None else _collecting(
        plan.report_task, reported, output.event)
    run = run_plan  # this module's, looked up now (see above)
    waiter = (None if lock_wait is None
              else LockWaiter(config, plan, lock_wait, output, on_event, run))
    started = time.monotonic()
    with owning_processes() as owner:
        hooked = run_with_hooks(context, plan, secrets, output.say, on_event,
                                run if waiter is None else waiter.run,
                                skip_hooks=skip_hooks, verbosity=verbosity)
        # From here on a signal is only recorded: the lock release and the report must happen.
        with owner.deferring():
            result = hooked.result
            if result.interrupted or owner.interrupted:
                _stop_after_signal(config, plan, hooked.ran_plays, result, output, owner,
                                   run_id, time.monotonic() - started, run)
            explain_unreachable(config, plan, result, run)
            if ((not result.ok or hooked.error) and result.lock_held is None
                    and plan.lock_host and hooked.ran_plays):
                release_lock(config, plan, run_id, run)
            refusal = _lock_refusal(config, result, waiter)
            code = (exit_code(result, pending_exit) if hooked.error is None
                    else hooked.error.exit_code)
            if plan.check and result.lock_seen is not None:
                output.notice("--check: the deploy lock is held (a real run would wait or "
                              f"stop):\n{result.lock_seen}")
            # A partly failed run still shows what the reachable hosts returned (audit); a held
            # lock shows nothing but the error.
            if report is not None and result.lock_held is None and (code == 0 or reported):
                output.report(*report(reported))
            output.summary(result, code, error=_ending(result, refusal, hooked.error, code))
            if owner.interrupted:  # a signal during the report: honour it once all is done
                raise Interrupted(f"Interrupted by {_signal_name(owner.signum)}", owner.signum)
    if refusal is not None:
        raise refusal
    if hooked.error is not None:
        raise hooked.error
    if code == ChangesPending.exit_code:
        raise ChangesPending("changes are pending")
    if code:
        # People read each host's reason in the output's last lines: the error only names them.
        raise DeployFailed(_failed_hosts(result) if output.says_failures
                           else failure_message(result))


def run_info(context: CommandContext, plan: Plan, run_id: str,
             lock_wait: LockWait | None = None) -> dict[str, Any]:
    """What a run is about to do, for the output's `run_start`."""
    config = context.config
    return {
        "command": plan.command, "kdeploy_version": __version__, "service": config.service,
        "version": config.version,
        "image": config.absolute_image if config.version else None,
        "destination": config.destination, "hosts": list(context.selection.hosts),
        "lock_host": plan.lock_host, "check": plan.check, "diff": plan.diff,
        "lock_wait": None if lock_wait is None else lock_wait.as_data(),
        "ansible_args": list(plan.ansible_playbook_args()), "run_id": run_id,
        # For people only (output.PEOPLE_ONLY): the headline's roles and the health waits.
        "roles": {role: list(hosts) for role, hosts in context.selection.role_hosts.items()
                  if hosts} if plan.command.startswith(_ROLE_COMMANDS) else {},
        "health": {role.name: {"container": role.container_name(config.version),
                               "timeout": config.deploy_timeout}
                   for role in context.selection.roles} if config.version else {},
    }


# Commands whose headline names the roles (the others act on hosts, accessories or the proxy).
_ROLE_COMMANDS = ("deploy", "setup", "redeploy", "rollback", "app ")


def _failed_hosts(result: RunResult) -> str:
    # The error names the hosts; the output's last lines (kept with -q) said each one's reason
    # and what to do about a refused host key.
    failed = [failure.host for failure in result.failures if not failure.unreachable]
    unreachable = [failure.host for failure in result.failures if failure.unreachable]
    parts = ([f"failed on {', '.join(dict.fromkeys(failed))}"] if failed else []) + (
        [f"{', '.join(dict.fromkeys(unreachable))} unreachable"] if unreachable else [])
    if not parts:
        return failure_message(result)
    return f"{'; '.join(parts)} (the reason of each is above)"


def _lock_refusal(config: Config, result: RunResult,
                  waiter: LockWaiter | None) -> LockHeldError | None:
    # The error of a held lock: why the wait gave up, or (no wait) who holds it.
    if result.lock_held is None:
        return None
    if waiter is not None and waiter.error is not None:
        return waiter.error
    return LockHeldError(describe_held_lock(result.lock_held, config))


def _ending(result: RunResult, refusal: LockHeldError | None, hook_error: KdeployError | None,
            code: int) -> tuple[str, str] | None:
    # (kind, message) of what ends the command, as the error it raises says it.
    if refusal is not None:
        return refusal.kind, refusal.message
    if hook_error is not None:
        return "hook", hook_error.message
    # Exit 4 (changes pending) is what a `--check --exit-code` asked for, not an error.
    return ("failed", failure_message(result)) if code and code != ChangesPending.exit_code \
        else None


def _stop_after_signal(config: Config, plan: Plan, ran_plays: bool, result: RunResult,
                       output: Reporter, owner: ProcessOwner, run_id: str,
                       elapsed: float, run: Callable[..., RunResult]) -> None:
    # Nothing local runs any more (the runner killed its tree; this also ends a hook's children).
    owner.stop(keep_masters=True)
    signum = result.signal or owner.signum or signal.SIGINT
    name = _signal_name(signum)
    output.say(f"--> Interrupted by {name}: stopping what this run still does on the hosts")
    # A check started nothing on the hosts that would need stopping.
    settled = settle_hosts(config, result if not plan.check else RunResult(), elapsed)
    lock = ""
    if plan.lock_host and ran_plays and result.lock_held is None:
        if settled.unconfirmed:
            lock = (f"; the deploy lock is kept: {', '.join(settled.unconfirmed)} could not be "
                    "reached to stop this run's work there. Check those hosts, then release it "
                    "with `kdeploy lock release`")
        else:
            lock = "; " + lock_outcome(release_lock(config, plan, run_id, run))
    if owner.count < 2:  # a second signal skips the report, never the cleanup
        output.report("\n".join(["--> State of each host", *report_lines(settled)]),
                      {"report": "interrupted", "items": report_items(settled), "signal": name})
    output.summary(result, Interrupted.code_for(signum),
                   error=("interrupted", f"Interrupted by {name}{lock}"))
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
