"""How fast an interrupted deploy stops, and whether anything it started outlives it.

On the sandbox (web on hosts 1-2, job on host 3, `readiness_delay: 4`, a web command that ignores
SIGTERM so every stop of an old web container takes the whole `drain_timeout`), sets up v1, then
times one uninterrupted `kdeploy deploy -P` (the baseline) and sends `--signals` stop signals
(SIGINT and SIGTERM in turn) to kdeploy's process group at random moments of a deploy, each deploy
switching the version. For each it measures:

- signal -> exit: the time from the signal to kdeploy's exit (it settles the hosts first);
- exit -> last process gone: the time from kdeploy's exit until no process it started is left,
  and how many were still alive at exit (goal: 0). This bench makes itself a child subreaper, so
  whatever kdeploy started and left behind is re-parented here and can be counted.

It prints each signal's numbers, then the medians and the ratio of signal -> exit to the baseline
deploy's duration. `--kdeploy PATH` measures another kdeploy (e.g. an older checkout's venv) on the
same sandbox, for a before/after. The whole run holds the shared sandbox's lock.

    python bench/interrupt.py [--signals 10] [--seed 1] [--kdeploy PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from common import clean_hosts, median, sandbox, sandbox_lock, timed, tool, write_project

from kdeploy.sandbox.example import JOB_CMD

# busybox httpd that ignores SIGTERM: `docker stop` waits the whole drain timeout.
STUBBORN_WEB = "sh -c 'trap \"\" TERM; httpd -f -p 80 -h /www & wait'"
DRAIN_TIMEOUT = 5


@dataclass
class Stop:
    """One interrupted deploy."""

    signum: int
    after: float  # seconds into the deploy
    to_exit: float
    left_at_exit: int
    to_gone: float
    exit_code: int
    next_deploy: int = -1  # the exit code of the deploy right after


def become_subreaper() -> None:
    """Adopt whatever kdeploy leaves behind, so it can be counted (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def leftovers() -> list[psutil.Process]:
    """Processes under this bench other than itself: what an exited kdeploy left behind."""
    return [process for process in psutil.Process().children(recursive=True) if _alive(process)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def interrupt(kdeploy: str, project: Path, version: str, signum: int, after: float) -> Stop:
    """Start a deploy, send `signum` to its process group after `after` s, time the stop."""
    process = subprocess.Popen([kdeploy, "deploy", "-P", "--version", version, "-q"], cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env={**os.environ, "CI": "true"})
    time.sleep(after)
    sent = time.perf_counter()
    os.killpg(process.pid, signum)
    code = process.wait()
    exited = time.perf_counter()
    left = leftovers()
    while leftovers() and time.perf_counter() - exited < 120:
        time.sleep(0.01)
    gone = time.perf_counter()
    for orphan in leftovers():  # never leave them to the next measurement
        with contextlib.suppress(psutil.Error):
            orphan.kill()
    for orphan in psutil.Process().children():
        if not _alive(orphan) and orphan.pid != process.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(orphan.pid, os.WNOHANG)
    return Stop(signum, after, exited - sent, len(left), gone - exited if left else 0.0, code)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kdeploy", default=tool("kdeploy"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    become_subreaper()
    with sandbox_lock(), tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as scratch:
        info = sandbox(3)
        clean_hosts(info)
        *web, job = (host.address for host in info.hosts)
        project = write_project(
            Path(scratch), info, readiness_delay=4, drain_timeout=DRAIN_TIMEOUT,
            servers={"web": {"hosts": web, "proxy": False, "cmd": STUBBORN_WEB},
                     "job": {"hosts": [job], "proxy": False, "cmd": JOB_CMD}})
        timed([args.kdeploy, "setup", "-P", "--version", "v1", "-q"], project)
        baseline = timed([args.kdeploy, "deploy", "-P", "--version", "v2", "-q"], project)
        print(f"baseline: an uninterrupted deploy takes {baseline:.2f} s", flush=True)
        versions = ["v1", "v2"]
        stops = []
        for index in range(args.signals):
            signum = (signal.SIGINT, signal.SIGTERM)[index % 2]
            stop = interrupt(args.kdeploy, project, versions[index % 2], signum,
                             rng.uniform(0.2, baseline))
            stops.append(stop)
            # The next deploy starts from settled hosts: a leftover would show in its exit code.
            stop.next_deploy = subprocess.run(
                [args.kdeploy, "deploy", "-P", "--version", versions[index % 2], "-q"],
                cwd=project, capture_output=True, check=False).returncode
            print(f"{signal.Signals(signum).name:7} at {stop.after:5.2f} s: exit {stop.exit_code}"
                  f" after {stop.to_exit:5.2f} s; {stop.left_at_exit} processes left at exit,"
                  f" last gone {stop.to_gone:5.2f} s after exit; next deploy exit "
                  f"{stop.next_deploy}", flush=True)
        to_exit = median([stop.to_exit for stop in stops])
        print(f"\nmedian signal -> exit: {to_exit:.2f} s ({to_exit / baseline:.2f}x the "
              f"baseline deploy); processes left at exit: max {max(s.left_at_exit for s in stops)}"
              f", total {sum(s.left_at_exit for s in stops)}; median exit -> last gone: "
              f"{median([stop.to_gone for stop in stops]):.2f} s; next deploys that failed: "
              f"{sum(stop.next_deploy != 0 for stop in stops)}")
        clean_hosts(info)


if __name__ == "__main__":
    main()
