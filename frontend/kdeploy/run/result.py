"""What a run did: per host, how it ended, and two runs taken as one."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HostFailure:
    """A task that failed, or a host that could not be reached."""

    host: str
    task: str
    message: str
    unreachable: bool = False
    play: str = ""


@dataclass
class RunResult:
    """What a run did, per host, and how it ended."""

    status: str = "unknown"
    rc: int = 0
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[HostFailure] = field(default_factory=list)
    duration: float = 0.0
    lock_held: str | None = None
    signal: int | None = None  # the stop signal (SIGINT, SIGTERM, SIGHUP) that cut the run
    # Hosts that a task was sent to, and hosts that answered one (ok or failed).
    hosts: set[str] = field(default_factory=set)
    reached: set[str] = field(default_factory=set)

    @property
    def interrupted(self) -> bool:
        """True when a stop signal cut the run."""
        return self.signal is not None

    @property
    def ok(self) -> bool:
        """True when Ansible finished and no host failed or was unreachable."""
        return self.status == "successful" and not self.failures

    def per_host(self) -> dict[str, dict[str, int]]:
        """Return ``{host: {ok, changed, failed, unreachable, skipped}}`` from the stats."""
        names = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
                 "skipped": "skipped"}
        hosts: dict[str, dict[str, int]] = {}
        for stat, label in names.items():
            for host, count in self.stats.get(stat, {}).items():
                hosts.setdefault(host, dict.fromkeys(names.values(), 0))[label] = count
        return hosts


def merge_results(first: RunResult, second: RunResult) -> RunResult:
    """Two runs as one: stats added per host, failures and durations summed, the last status."""
    stats: dict[str, dict[str, int]] = {}
    for result in (first, second):
        for name, hosts in result.stats.items():
            for host, count in hosts.items():
                stats.setdefault(name, {})[host] = stats.get(name, {}).get(host, 0) + count
    return RunResult(status=second.status, rc=second.rc, stats=stats,
                     failures=[*first.failures, *second.failures],
                     duration=first.duration + second.duration,
                     lock_held=first.lock_held or second.lock_held,
                     signal=first.signal or second.signal,
                     hosts=first.hosts | second.hosts, reached=first.reached | second.reached)
