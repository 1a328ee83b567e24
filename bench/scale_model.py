"""What a deploy costs the controller at N hosts, from measurements at a few small host counts.

Pure arithmetic for `bench/scale.py` and docs/scale.md (no sandbox, no kdeploy import):

- CPU grows with every host: `cpu(N) = a + b·N` CPU-seconds, a line fitted by least squares.
- Memory has two parts. What lives once per host for the whole run (kdeploy's ssh masters, one
  per host, kept until the command exits) grows with N. What works on a host (an Ansible worker
  process and its ssh client) exists only for the hosts being worked on, at most `forks` of
  them, so that part stops growing at `forks` hosts. Kamal works on every host at once in one
  process: all of its memory is the second kind, with no cap.
- Wall time on one controller is at least the CPU time spread over the cores the tool can use
  (Kamal is one Ruby process, whose threads run Ruby code one at a time: one core), and at least
  one round of the per-host work for every `forks` hosts of a play.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """`intercept + slope·x`, fitted to measured points."""

    intercept: float
    slope: float

    def at(self, x: float) -> float:
        """The line's value at `x`."""
        return self.intercept + self.slope * x


def fit_line(points: Sequence[tuple[float, float]]) -> Line:
    """The least-squares line through `(x, y)` points.

    Raises:
        ValueError: fewer than two different x values (no slope can be fitted).
    """
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        raise ValueError(f"a line needs at least two different host counts, got {sorted(xs)}")
    mean_x = sum(xs) / len(xs)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return Line(intercept=mean_y - slope * mean_x, slope=slope)


@dataclass(frozen=True)
class ControllerModel:
    """One tool's controller cost, fitted at host counts below `forks`.

    Attributes:
        cpu: CPU-seconds (user+sys of the whole process tree) of one deploy, by host count.
        per_host_memory: peak memory (MB) that every host keeps for the whole run.
        per_fork_memory: peak memory (MB) of everything else: the processes working on hosts,
            and the tool itself (the intercept).
        forks: how many hosts are worked on at once; None for every host at once.
        max_cores: how many cores the tool's work can spread over; None for all of them.
    """

    cpu: Line
    per_host_memory: Line
    per_fork_memory: Line
    forks: int | None
    max_cores: int | None = None

    def cpu_seconds(self, hosts: int) -> float:
        """CPU-seconds of one deploy to `hosts` hosts."""
        return self.cpu.at(hosts)

    def peak_memory(self, hosts: int) -> float:
        """Peak memory (MB) of one deploy to `hosts` hosts."""
        busy = hosts if self.forks is None else min(hosts, self.forks)
        return self.per_host_memory.at(hosts) + self.per_fork_memory.at(busy)

    def wall_floor(self, hosts: int, cores: int, host_seconds: float = 0.0) -> float:
        """The least wall time of one deploy to `hosts` hosts of one role, in one boot group.

        Args:
            hosts: the hosts of the deploy.
            cores: the controller's cores: the CPU work cannot finish faster than spread on all
                of them (or on `max_cores`).
            host_seconds: how long one host's release takes on the host (pull, start, readiness,
                health check): the play takes at least one such round per `forks` hosts.
        """
        rounds = 1 if self.forks is None else math.ceil(hosts / self.forks)
        usable = cores if self.max_cores is None else min(cores, self.max_cores)
        return max(self.cpu_seconds(hosts) / usable, rounds * host_seconds)
