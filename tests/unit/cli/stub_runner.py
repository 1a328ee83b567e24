"""A stand-in for `runner.run_plan` shared by the CLI tests of report-printing commands."""

from __future__ import annotations

from typing import Any

from kdeploy.plan import Plan
from kdeploy.run.result import HostFailure, RunResult


class StubRunner:
    """Records each plan and replays the report task's result per host, then the stats."""

    def __init__(self, results: dict[str, Any] | None = None,
                 failures: list[HostFailure] | None = None) -> None:
        self.results = results or {}
        self.failures = failures or []
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        on_event({"event": "playbook_on_play_start", "event_data": {"play": "Part"}})
        for host, res in self.results.items():
            on_event({"event": "runner_on_ok",
                      "event_data": {"host": host, "task": plan.report_task, "res": res}})
        on_event({"event": "playbook_on_stats", "event_data": {}})
        if self.failures:
            return RunResult(status="failed", rc=2, failures=self.failures)
        return RunResult(status="successful", stats={"ok": dict.fromkeys(self.results, 2)})
