"""kdeploy setup vs kamal setup on a 3-host sandbox, plus a re-run of each.

Runs `kdeploy setup -P` and `kamal setup -P` (Kamal 2.11.0) alternately on clean hosts, 5 times
each, with one config (`proxy: false` roles, `readiness_delay: 0`), then times a re-run of each
on the set-up hosts, and prints the ratios kdeploy/kamal. Goal: ≤ 1.5 for setup, ≤ 1.0 for the
re-run (kdeploy's re-run is a no-op; Kamal's re-run boots the version again).

    python bench/setup.py [--runs 5] [--hosts 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import clean_hosts, median, sandbox, sandbox_lock, timed, tool, write_project


def main() -> None:
    """Measure and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=3)
    args = parser.parse_args()
    with sandbox_lock():
        _measure(args)


def _measure(args: argparse.Namespace) -> None:
    info = sandbox(args.hosts)
    commands = {
        "kdeploy": [tool("kdeploy"), "setup", "-P", "--version", "v1", "-q"],
        "kamal": [tool("kamal"), "setup", "-P", "--version", "v1", "-q"],
    }
    with tempfile.TemporaryDirectory() as directory:
        project = write_project(Path(directory), info)
        setup = {name: [] for name in commands}
        rerun = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                clean_hosts(info)
                setup[name].append(timed(argv, project))
                rerun[name].append(timed(argv, project))
        clean_hosts(info)
    for label, times in (("setup", setup), ("re-run", rerun)):
        kdeploy, kamal = median(times["kdeploy"]), median(times["kamal"])
        print(f"{label:7} kdeploy {kdeploy:6.2f}s  kamal {kamal:6.2f}s  "
              f"kdeploy/kamal {kdeploy / kamal:.2f}  (median of {args.runs}, {args.hosts} hosts)")


if __name__ == "__main__":
    main()
