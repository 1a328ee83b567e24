"""`--lock-wait`: wait for the deploy lock instead of failing at once, as Kamal 2.12 does.

Kamal's `acquire_lock_with_wait` (lib/kamal/cli/base.rb): try to take the lock; on the first
refusal show who holds it, and give up at once if it was taken by hand (`lock acquire -m …`)
rather than by a running command (`Automatic deploy lock`); otherwise try again every
`interval` seconds until `timeout` seconds have passed, then give up. Every refusal exits 3.

A try is the plan's own lock part (`playbooks/lock_acquire.yml`) run alone on the lock host,
right before the first step of the plan that takes the lock (so `pre-connect` has run, and no
other play has). A lock it takes carries this run's id, which the plan's acquire play then
finds as its own (roles/lock/tasks/acquire.yml), so the plan itself runs unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kdeploy.config import Config
from kdeploy.config.defaults import LOCK_WAIT_INTERVAL, LOCK_WAIT_TIMEOUT
from kdeploy.errors import LockHeldError, LockHeldManually, LockWaitTimedOut
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.plan.lock import AUTOMATIC_LOCK_MESSAGE
from kdeploy.run.lock_details import describe_held_lock, lock_holder
from kdeploy.run.process_owner import SignalReceived
from kdeploy.run.result import RunResult
from kdeploy.run.runner import EventSink

# The part every command that takes the lock imports for it (the plan builders' name).
LOCK_ACQUIRE_PART = "lock_acquire.yml"
# The first and last lines of the lock role's refusal around the lock's details.
_HELD_FIRST = "Deploy lock already in place!"
_HELD_LAST = "Deploy lock found on "


@dataclass(frozen=True)
class LockWait:
    """`--lock-wait-timeout` and `--lock-wait-interval`, in seconds."""

    timeout: int = LOCK_WAIT_TIMEOUT
    interval: int = LOCK_WAIT_INTERVAL

    def as_data(self) -> dict[str, int]:
        """For the `run_start` event."""
        return {"timeout": self.timeout, "interval": self.interval}


class WaitOutput(Protocol):
    """What the wait says: progress lines and one `waiting` state per try that was refused."""

    def say(self, text: str) -> None:
        """One line of progress."""

    def waiting(self, state: dict[str, Any]) -> None:
        """The lock is held; the next try follows in `state["next_poll_in"]` seconds."""


def takes_lock(plan: Plan) -> bool:
    """Whether `plan` (a command's plan or one step of it) imports the lock part."""
    return any(getattr(entry, "playbook", None) == LOCK_ACQUIRE_PART for entry in plan.imports)


def held_details(message: str) -> str:
    """The lock's details (`Locked by`, `Version`, `Message`) from the lock role's refusal."""
    lines = message.strip().splitlines()
    if lines and lines[0].strip() == _HELD_FIRST:
        lines = lines[1:]
    if lines and lines[-1].startswith(_HELD_LAST):
        lines = lines[:-1]
    return "\n".join(lines).strip()


class LockWaiter:
    """Stands in for `runner.run_plan` and waits for the lock before the step that takes it.

    A refused lock ends the wait with the last try's result (`lock_held` set, as without
    `--lock-wait`) and `error` saying why it gave up; a try that failed otherwise (an
    unreachable lock host) ends it with that result; a stop signal while it sleeps, with a
    cancelled result (the lock is not this run's: nothing to release).
    """

    def __init__(self, config: Config, plan: Plan, settings: LockWait, output: WaitOutput,
                 on_event: EventSink, run: Callable[..., RunResult], *,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        """Wait for `plan`'s lock with `settings`, saying so through `output`.

        Args:
            config: the loaded config.
            plan: the command's plan (its lock host, limit and extra vars, the run id included).
            settings: the timeout and the interval.
            output: the command's output.
            on_event: the command's event sink: a try that fails for another reason than the
                lock (an unreachable lock host) is shown there, as a run would show it.
            run: `runner.run_plan`, passed in by the caller (tests replace it there).
            clock: seconds, monotonic (default `time.monotonic`).
            sleep: waits the given seconds (default `time.sleep`).
        """
        self.config, self.plan, self.settings, self.output = config, plan, settings, output
        self.error: LockHeldError | None = None
        self._on_event, self._run = on_event, run
        self._clock, self._sleep = clock or time.monotonic, sleep or time.sleep
        self._waited = False

    def run(self, config: Config, plan: Plan, secrets: Mapping[str, str], on_event: EventSink,
            **kwargs: Any) -> RunResult:
        """`run_plan`, after waiting for the lock if `plan` is the first step that takes it."""
        if not self._waited and takes_lock(plan):
            self._waited = True
            try:
                result = self._wait()
            except SignalReceived as stop:
                return RunResult(status="canceled", rc=1, signal=stop.signum)
            if not result.ok:
                return result
        return self._run(config, plan, secrets, on_event, **kwargs)

    def _wait(self) -> RunResult:
        timeout, interval = self.settings.timeout, self.settings.interval
        started = self._clock()
        deadline = started + timeout
        self.output.say(f"--> Acquiring the deploy lock (waiting up to {timeout}s)...")
        attempt = 0
        while True:
            attempt += 1
            result, events = self._try()
            if result.lock_held is None:
                if not result.ok:  # not a refusal (an unreachable host): show it as a run would
                    for event in events:
                        self._on_event(event)
                return result
            details = held_details(result.lock_held)
            if attempt == 1:
                self.output.say("--> Deploy lock is held by:")
                for line in details.splitlines():
                    self.output.say(f"    {line}")
                if AUTOMATIC_LOCK_MESSAGE not in details:
                    self.error = LockHeldManually(
                        "Deploy lock held manually, not waiting (--lock-wait waits only for the "
                        "automatic lock of a running command)\n"
                        + describe_held_lock(result.lock_held, self.config))
                    return result
            remaining = int(deadline - self._clock())
            if remaining <= 0:
                self.output.say(f"--> Timed out after {timeout}s waiting for the deploy lock")
                self.error = LockWaitTimedOut(
                    f"Timed out after {timeout}s waiting for the deploy lock\n"
                    + describe_held_lock(result.lock_held, self.config))
                return result
            pause = min(interval, remaining)
            self.output.waiting({
                "reason": "lock", "host": self.plan.lock_host or "",
                "holder": lock_holder(details) or {"locked_by": "", "automatic": True},
                "attempt": attempt, "waited": round(self._clock() - started, 3),
                "remaining": remaining, "next_poll_in": pause,
                "timeout": timeout, "interval": interval,
            })
            self._sleep(pause)

    def _try(self) -> tuple[RunResult, list[dict[str, Any]]]:
        # One try: the lock part alone on the lock host. Its events are kept back: a refusal
        # is said by the wait's own lines, not as a failed task per try.
        events: list[dict[str, Any]] = []
        result = self._run(self.config, lock_try_plan(self.plan), {}, events.append)
        return result, events


def lock_try_plan(plan: Plan) -> Plan:
    """The plan of one try: the lock part alone, on the lock host, with the command's vars."""
    return replace(plan, command=f"{plan.command}_lock_wait",
                   imports=(PlaybookImport(LOCK_ACQUIRE_PART, ("lock",)),),
                   tags=(), skip_tags=(), limit=plan.lock_host, notices=(), secret_names=(),
                   hook_points=(), report_task=None)
