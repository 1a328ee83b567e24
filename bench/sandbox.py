"""How fast the sandbox comes up, and what one host costs in memory.

Warms up once (so the demo images are built and cached), then times `kdeploy sandbox up` from
nothing with 3 and with 10 hosts (median of --runs), a no-op `up` on the running sandbox and
`down`; prints the ratio to the goals (3 hosts: 5 s, 10 hosts: 15 s; below 1.0 meets them) and
the resident memory of one host's sshd + dockerd + containerd.

    python bench/sandbox.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kdeploy.sandbox import status
from kdeploy.sandbox.cgroups import hierarchy
from kdeploy.sandbox.layout import CGROUP_NAME, host_name

GOALS = {3: 5.0, 10: 15.0}


def kdeploy(*args: str) -> float:
    """Run `kdeploy sandbox …` and return its wall time; exit if it fails."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kdeploy", "sandbox", *args],
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"kdeploy sandbox {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` in KiB (0 if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def host_daemons(name: str) -> dict[str, int]:
    """RSS (KiB) per command of one host's daemons (sshd, dockerd, containerd)."""
    base = hierarchy()
    procs = base / CGROUP_NAME / name / "daemons" / "cgroup.procs" if base else None
    usage: dict[str, int] = {}
    for pid in (int(p) for p in procs.read_text().split()) if procs else []:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        usage[comm] = usage.get(comm, 0) + rss_kib(pid)
    return usage


def time_up(hosts: int, runs: int) -> float:
    """Median seconds of `up --hosts N` from a removed sandbox (images cached)."""
    samples = []
    for _ in range(runs):
        kdeploy("down")
        samples.append(kdeploy("up", "--hosts", str(hosts)))
    return statistics.median(samples)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    was_up = status() is not None
    print(f"warm-up (builds images if not cached): {kdeploy('up', '--hosts', '3'):.2f}s")
    for hosts, goal in GOALS.items():
        seconds = time_up(hosts, args.runs)
        print(f"sandbox up --hosts {hosts}: {seconds:.2f}s  (goal {goal:.0f}s, "
              f"ratio {seconds / goal:.2f})")
    print(f"sandbox up --hosts 10 again (no-op): {kdeploy('up', '--hosts', '10'):.2f}s")
    time.sleep(2)  # let the daemons finish starting up before measuring them
    usage = host_daemons(host_name(1))
    detail = ", ".join(f"{comm} {kib / 1024:.0f}" for comm, kib in sorted(usage.items()))
    print(f"memory of one host (RSS): {sum(usage.values()) / 1024:.0f} MiB ({detail})")
    print(f"sandbox down (10 hosts): {kdeploy('down'):.2f}s")
    if was_up:
        kdeploy("up", "--hosts", "3")


if __name__ == "__main__":
    main()
