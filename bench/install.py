"""Bench: the size of a fresh venv after the README's install, and how long the install takes.

    python bench/install.py [--runs 3] [--source .] [--wheel]

Each run makes a fresh venv in a temp dir and times the README's command, `pip install SOURCE`,
where SOURCE is a `git archive` of the repository's HEAD (so nothing local, no .venv, no build
output, rides along). The first run fills pip's cache and is reported apart; the next `--runs`
runs give the median and range from a warm cache. The size is what `du` would say: the blocks
of every file under the venv. `--wheel` also builds the wheel once from the same source and
times `pip install <wheel>` into fresh venvs (what CI and PyPI users pay).

Needs pip's index (or its configured mirror), no sandbox. Exits 1 when the venv is above the
goal (150 MB), so CI can run it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

GOAL_MB = 150.0
MB = 1024 * 1024


def export_head(repo: Path, into: Path) -> Path:
    """The committed tree of `repo`'s HEAD, unpacked into `into` (a `git archive`)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "HEAD"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def fresh_venv(path: Path) -> Path:
    """A new venv at `path` (the README's `python3 -m venv`); returns its pip."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "pip"


def timed_install(pip: Path, target: str) -> float:
    """Seconds `pip install target` takes; fail loudly if it fails."""
    started = time.monotonic()
    result = subprocess.run([str(pip), "install", "-q", "--disable-pip-version-check", target],
                            capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"pip install {target} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def disk_usage(path: Path) -> int:
    """Bytes on disk under `path`, as `du` counts them (blocks, symlinks not followed)."""
    total = path.lstat().st_blocks * 512
    if path.is_dir() and not path.is_symlink():
        total += sum(disk_usage(child) for child in path.iterdir())
    return total


def largest(directory: Path, count: int, depth: int = 1) -> list[tuple[str, int]]:
    """The `count` biggest entries `depth` levels below `directory`, biggest first."""
    entries = [directory]
    for _ in range(depth):
        entries = [child for entry in entries if entry.is_dir() for child in entry.iterdir()]
    sizes = [(str(entry.relative_to(directory)), disk_usage(entry)) for entry in entries]
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:count]


def site_packages(venv: Path) -> Path:
    """The venv's site-packages (lib/pythonX.Y/site-packages)."""
    return next((venv / "lib").glob("python3*/site-packages"))


def installs(work: Path, name: str, target: str, runs: int) -> tuple[float, list[float], Path]:
    """A cache-warming install, then `runs` timed ones; returns both times and the last venv."""
    venv = work / f"{name}-warm"
    first = timed_install(fresh_venv(venv), target)
    warm = []
    for index in range(runs):
        venv = work / f"{name}-{index}"
        warm.append(timed_install(fresh_venv(venv), target))
    return first, warm, venv


def spread(times: Sequence[float]) -> str:
    """`median s (min-max)` of `times`."""
    return f"{statistics.median(times):.1f} s ({min(times):.1f}-{max(times):.1f})"


def listing(entries: list[tuple[str, int]]) -> str:
    """`name 1.2 MB, ...`."""
    return ", ".join(f"{name} {size / MB:.1f} MB" for name, size in entries)


def build_wheel(source: Path, outdir: Path) -> tuple[Path, float]:
    """Build the wheel of `source` with pip (build isolation, as an install does)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                    "--no-deps", "-w", str(outdir), str(source)], check=True,
                   capture_output=True)
    return next(outdir.glob("kdeploy-*.whl")), time.monotonic() - started


def main() -> int:
    """Run the bench and print sizes, times and ratios; 1 when the venv is above the goal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--source", type=Path, default=Path(__file__).parents[1],
                        help="the repository whose HEAD is installed")
    parser.add_argument("--wheel", action="store_true", help="also build and install the wheel")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kdeploy-install-bench-") as temp:
        work = Path(temp)
        source = export_head(args.source, work / "source")
        first, warm, venv = installs(work, "source", str(source), args.runs)
        size = disk_usage(venv) / MB
        packages = site_packages(venv)
        print(f"pip install SOURCE (git archive of HEAD), fresh venv, {args.runs} runs:")
        print(f"  first (fills the pip cache): {first:.1f} s")
        print(f"  warm cache: {spread(warm)}")
        print(f"  venv: {size:.1f} MB, goal {GOAL_MB:.0f} MB, size/goal {size / GOAL_MB:.2f}")
        print(f"  largest in site-packages: {listing(largest(packages, 5))}")
        if (packages / "ansible_collections").is_dir():
            print("  collections: "
                  + listing(largest(packages / "ansible_collections", 10, depth=2)))
        if args.wheel:
            wheel, built = build_wheel(source, work / "dist")
            _, wheel_warm, _ = installs(work, "wheel", str(wheel), args.runs)
            print(f"wheel: built in {built:.1f} s, {wheel.stat().st_size / MB:.2f} MB")
            print(f"  pip install {wheel.name}, warm cache: {spread(wheel_warm)}; "
                  f"wheel/source {statistics.median(wheel_warm) / statistics.median(warm):.2f}")
    if size > GOAL_MB:
        print(f"FAIL: the venv is {size:.1f} MB, above the goal of {GOAL_MB:.0f} MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
