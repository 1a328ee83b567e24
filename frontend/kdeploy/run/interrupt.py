"""After a stop signal: settle the run's hosts, then say what each host was left running.

The runner has already killed every local process of the run (`process_owner`). What the run
started on the hosts may still be going; `settle.yml` brings each host to rest over the run's own
SSH connections. The deploy lock may be released only afterwards, and only when every host the
run reached is known to be at rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config import Config
from kdeploy.plan.settle import SETTLE_REPORT_TASK, build_settle_plan
from kdeploy.run.result import RunResult
from kdeploy.run.runner import run_plan
from kdeploy.run.ssh_errors import classify_ssh_error


@dataclass
class HostRest:
    """One host after the settle step: what it runs, what was cut off, what went wrong."""

    host: str
    settled: bool
    running: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # containers not running (exited, created)
    cut: list[dict[str, Any]] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    docker_waited: list[str] = field(default_factory=list)
    problem: str = ""


@dataclass
class Settled:
    """Every host of an interrupted command after the settle step."""

    hosts: list[HostRest]

    @property
    def unconfirmed(self) -> list[str]:
        """Hosts that could not be settled: something of the run may still act there."""
        return [rest.host for rest in self.hosts if not rest.settled]


def settle_hosts(config: Config, result: RunResult, elapsed: float) -> Settled:
    """Run the settle step on the hosts the interrupted command sent tasks to.

    A host the command never reached (unreachable from the start) has nothing of ours running:
    it counts as settled even when the settle step can't reach it either.
    """
    hosts = sorted(result.hosts)
    if not hosts:
        return Settled([])
    reports: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}

    def collect(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        host = data.get("host", "?")
        if event.get("event") == "runner_on_ok" and data.get("task") == SETTLE_REPORT_TASK:
            reports[host] = data.get("res") or {}
        elif event.get("event") == "runner_on_unreachable":
            message = str((data.get("res") or {}).get("msg") or "")
            problems.setdefault(host, f"unreachable: {classify_ssh_error(message, host).summary()}")
        elif event.get("event") == "runner_on_failed":
            message = str((data.get("res") or {}).get("msg") or "failed").strip()
            problems.setdefault(host, f"{data.get('task')}: {message}")

    outcome = run_plan(config, build_settle_plan(config, hosts, elapsed), {}, collect,
                       cancellable=False)
    for failure in outcome.failures:
        if failure.host == "localhost":  # ansible-playbook itself failed: no host got a task
            for host in hosts:
                problems.setdefault(host, failure.message.splitlines()[-1])
    return Settled([_host_rest(host, reports.get(host), problems.get(host), host in result.reached)
                    for host in hosts])


def _host_rest(host: str, report: dict[str, Any] | None, problem: str | None,
               reached: bool) -> HostRest:
    if report is None:
        first = (problem or "no answer").splitlines()[0]
        return HostRest(host, settled=not reached, problem=first)
    containers = report.get("containers") or []
    return HostRest(
        host, settled=True,
        running=[item["name"] for item in containers if item.get("state") == "running"],
        stopped=[item["name"] for item in containers if item.get("state") != "running"],
        cut=list(report.get("cut") or []),
        killed=[item["command"] for item in report.get("killed") or []],
        docker_waited=list(report.get("docker_waited") or []),
    )


# The module whose cut-off note is an accessory's boot (its `role` is `accessory <name>`); every
# other note is an app release's.
ACCESSORY_BOOT = "kdeploy.deploy.accessory_boot"


def report_lines(settled: Settled) -> list[str]:
    """The per-host account people read: cut-off releases, then what runs on each host."""
    lines = []
    for rest in settled.hosts:
        if rest.problem:
            state = "not settled" if not rest.settled else "never reached by this run"
            lines.append(f"    {rest.host}  {state}: {rest.problem}")
            continue
        for note in rest.cut:
            step = "boot" if note.get("module") == ACCESSORY_BOOT else "release"
            lines.append(f"    {rest.host}  {step} of {note.get('role')} cut off while "
                         f"{note.get('step')}: {note.get('left')}")
        for command in rest.killed:
            lines.append(f"    {rest.host}  killed after the settle timeout: {command}")
        lines.append(f"    {rest.host}  running: {_names(rest.running)}")
    return lines


def report_items(settled: Settled) -> list[dict[str, Any]]:
    """The same account for `--output json`: the `interrupted` report's items, one per host."""
    return [{"host": rest.host, "state": "settled" if rest.settled else "unconfirmed",
             "running": rest.running, "stopped": rest.stopped, "cut": rest.cut,
             "killed": rest.killed, "docker_waited": rest.docker_waited,
             "problem": rest.problem or None} for rest in settled.hosts]


def _names(names: Iterable[str]) -> str:
    return ", ".join(names) or "no container of this app"
