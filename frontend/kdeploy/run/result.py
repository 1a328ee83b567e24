"""What a run did: per host, how it ended, and two runs taken as one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HostFailure:
    """A task that failed, or a host that could not be reached."""

    host: str
    task: str
    message: str
    unreachable: bool = False
    play: str = ""


# The fields of schema v1's `change` and `container_brief`: what the roles report is kept to them.
CHANGE_FIELDS = ("kind", "name", "action", "from", "to", "image", "fields")
CONTAINER_FIELDS = ("name", "image", "state")
# Actions a host reports that the command does not carry out (see pending_changes).
NOTICE_ACTIONS = frozenset({"differs"})


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
    # What the hosts reported as done or, in check mode, pending (`kdeploy_outcome`, see
    # runner.py): per host, the changes (schema v1's `change`) and the role containers
    # before and after ({before: [...], after: [...]}).
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    containers: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # Check mode: the deploy lock's details as read on the lock host (None: not held).
    lock_seen: str | None = None

    @property
    def pending_changes(self) -> bool:
        """True when some host reported a change (in check mode: one the run would make).

        A `differs` is a notice, not work: `accessory boot` leaves a running accessory whose
        config changed alone (`accessory reboot` applies it), so it is never pending.
        """
        return any(change.get("action") not in NOTICE_ACTIONS
                   for changes in self.outcomes.values() for change in changes)

    def add_outcome(self, host: str, outcome: dict[str, Any]) -> None:
        """Add one `kdeploy_outcome` of `host`: its changes and its containers before/after."""
        changes = outcome.get("changes") or []
        known = self.outcomes.setdefault(host, [])
        for change in changes:
            if not isinstance(change, dict):
                continue
            change = {key: change[key] for key in CHANGE_FIELDS if key in change}
            if isinstance(change.get("fields"), list):
                change["fields"] = [_field(item) for item in change["fields"]
                                    if isinstance(item, dict)]
            if change not in known:  # the network both the proxy and the release would create
                known.append(change)
        containers = outcome.get("containers")
        if isinstance(containers, dict):
            mine = self.containers.setdefault(host, {"before": [], "after": []})
            for when in ("before", "after"):
                mine[when].extend({key: str(item.get(key, "")) for key in CONTAINER_FIELDS}
                                  for item in containers.get(when) or []
                                  if isinstance(item, dict))

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


def _field(item: dict[str, Any]) -> dict[str, Any]:
    # A secret field keeps its name only, whatever a role put beside it.
    if item.get("secret"):
        return {"field": str(item.get("field", "")), "secret": True}
    return {key: item[key] for key in ("field", "before", "after") if key in item}


def merge_results(first: RunResult, second: RunResult) -> RunResult:
    """Two runs as one: stats added per host, failures and durations summed, the last status."""
    stats: dict[str, dict[str, int]] = {}
    for result in (first, second):
        for name, hosts in result.stats.items():
            for host, count in hosts.items():
                stats.setdefault(name, {})[host] = stats.get(name, {}).get(host, 0) + count
    merged = RunResult(status=second.status, rc=second.rc, stats=stats,
                       failures=[*first.failures, *second.failures],
                       duration=first.duration + second.duration,
                       lock_held=first.lock_held or second.lock_held,
                       signal=first.signal or second.signal,
                       hosts=first.hosts | second.hosts, reached=first.reached | second.reached)
    for result in (first, second):
        for host, changes in result.outcomes.items():
            merged.add_outcome(host, {"changes": changes})
        for host, containers in result.containers.items():
            merged.add_outcome(host, {"containers": containers})
    merged.lock_seen = first.lock_seen or second.lock_seen
    return merged
