"""The lock-on-failure policy: a run that failed or was cut after taking the lock releases it.

Only a lock this run took (its kdeploy-run file) goes: Kamal's or another run's stays, even when
this run never got to see the lock task's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kdeploy.config import Config
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.run.result import RunResult

# The task of playbooks/lock_release.yml whose stdout says what became of the lock.
RELEASE_TASK = "Release the deploy lock."


def release_lock(config: Config, plan: Plan, run_id: str, run: Callable[..., RunResult]) -> str:
    """Release the deploy lock this run took, so the next deploy can run.

    Args:
        config: the loaded config.
        plan: the command's plan (its lock host, limit and extra vars).
        run_id: the run's own mark on the lock (`kdeploy_run_id`).
        run: `runner.run_plan`, passed in by the caller (tests replace it there).

    Returns:
        The release task's answer (`released`, `kept …`, empty when no lock was held), or
        `unreachable` when the run failed without one.
    """
    release = replace(plan, command=f"{plan.command}_release_lock",
                      imports=(PlaybookImport("lock_release.yml", ("lock",)),),
                      tags=(), skip_tags=(), limit=plan.lock_host, notices=(),
                      secret_names=(), hook_points=(),
                      extravars={**plan.extravars, "lock_owner_run": run_id})
    answers: list[str] = []

    def collect(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == RELEASE_TASK:
            answers.append(str((data.get("res") or {}).get("stdout") or "").strip())

    result = run(config, release, {}, collect, cancellable=False)
    return answers[0] if answers else ("unreachable" if not result.ok else "")


def lock_outcome(answer: str) -> str:
    """What became of the lock, in words, from `release_lock`'s answer."""
    if answer == "released":
        return "the deploy lock was released"
    if answer.startswith("kept"):
        return "the deploy lock was not taken by this run and stays"
    if answer == "unreachable":
        return "the deploy lock could not be released: run `kdeploy lock release`"
    return "no deploy lock was held"
