"""What `kdeploy lock …` and `kdeploy audit` print (Kamal's words)."""

from __future__ import annotations

from typing import Any

from kdeploy.reports.common import Results, report_data
from kdeploy.run.lock_details import lock_holder

NO_LOCK = "There is no deploy lock"


def acquire_report(host: str, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What `lock acquire` says once the lock is taken (a held lock is the command's error)."""
    del result
    return "Acquired the deploy lock", report_data("lock acquire", [{"host": host,
                                                                     "locked": True}])


def release_report(host: str, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What `lock release` says: released, or Kamal's `There is no deploy lock`."""
    released = "released" in str(result.get("stdout", ""))
    text = "Released the deploy lock" if released else NO_LOCK
    return text, report_data("lock release", [{"host": host, "locked": False,
                                               "released": released}])


def status_report(host: str, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What `lock status` says: the decoded details, or Kamal's `There is no deploy lock`."""
    details = "\n".join(_lines(result))
    item = {"host": host, "locked": bool(details),
            "holder": lock_holder(details) if details else None}
    return details or NO_LOCK, report_data("lock status", [item], text=details or NO_LOCK)


LOCK_REPORTS = {"acquire": acquire_report, "release": release_report, "status": status_report}


def audit_report(hosts: tuple[str, ...], results: Results) -> tuple[str, dict[str, Any]]:
    """Each host's audit lines under its name, as Kamal's `audit` prints them; JSON per host."""
    lines = {host: _lines(results[host]) for host in hosts if host in results}
    text = "\n\n".join("\n".join([f"App Host: {host}", *host_lines])
                       for host, host_lines in lines.items())
    return text, report_data("audit", [{"host": host, "lines": host_lines}
                                       for host, host_lines in lines.items()])


def _lines(result: dict[str, Any]) -> list[str]:
    # raw's stdout comes through a pty: CRLF line ends, maybe a trailing blank line.
    return [line.rstrip("\r") for line in str(result.get("stdout", "")).strip().splitlines()]
