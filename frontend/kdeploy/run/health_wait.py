"""The hosts that wait for a new version to be healthy, and when to say again that they still do.

The release module waits on the host inside one module call (no polling from here: that would
cost a round trip per probe). The controller knows the budget (`deploy_timeout`) and when the
call started (its `runner_on_start`), so it can tell the time left without asking the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# How often a host still waiting is said again (s).
REMINDER_INTERVAL = 5.0


@dataclass
class HealthWait:
    """One host's wait: what for, its budget and when it started (the controller's clock)."""

    host: str
    container: str
    timeout: float
    started: float
    next_reminder: float

    def left(self, now: float) -> int:
        """Whole seconds left of the budget (0 once it is spent)."""
        return max(0, int(self.timeout - (now - self.started)))


class HealthWaits:
    """Every wait under way; `due()` names those to be said again now.

    The wait is counted from when the controller hears that the release call started: the host
    starts its own clock a moment later (once the container runs), and the news may come a
    moment late, so the time left said is close to the host's, not exact.
    """

    def __init__(self, clock: Callable[[], float] | None = None,
                 interval: float = REMINDER_INTERVAL) -> None:
        """`clock`: seconds, monotonic (default `time.monotonic`); `interval`: between lines."""
        self._clock = clock or time.monotonic
        self._interval = interval
        self._waits: dict[str, HealthWait] = {}

    def start(self, host: str, container: str, timeout: float) -> None:
        """`host` starts waiting for `container`, at most `timeout` seconds."""
        now = self._clock()
        self._waits[host] = HealthWait(host, container, timeout, now, now + self._interval)

    def end(self, host: str) -> None:
        """`host`'s wait is over (its result arrived, whatever it was)."""
        self._waits.pop(host, None)

    def clear(self) -> None:
        """Every wait is over (the playbook or the command ended)."""
        self._waits.clear()

    def due(self) -> list[tuple[HealthWait, int]]:
        """The waits to be said again now, each with its seconds left, oldest first.

        A wait with less than a second left is not said: its answer is about to come.
        """
        now = self._clock()
        due = []
        for wait in self._waits.values():
            if now < wait.next_reminder:
                continue
            while wait.next_reminder <= now:  # a late tick says it once, then keeps the pace
                wait.next_reminder += self._interval
            left = wait.left(now)
            if left >= 1:
                due.append((wait, left))
        return due
