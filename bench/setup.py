"""kdeploy setup vs kamal setup on the founding config, with `setup -r <new role>` and a re-run.

The founding config is the sandbox example: 3 hosts, role web on hosts 1-2, role job on host 3,
the accessory db on host 1 (`proxy: false` roles, `readiness_delay: 0`). Each round, in an order
that rotates so neither tool always goes first, every tool in turn:

1. `setup -P --version v1 -q` on clean hosts (no container, no image, no ~/.kamal);
2. the same command again on the set-up hosts (kdeploy's re-run is a no-op; Kamal's boots the
   version again);
3. `setup -P --version v1 -q -r web_new` with a config that adds the role web_new on host 3.

Then the hosts are cleaned for the next tool. Prints, per step, each tool's median with min-max
and kdeploy/kamal of the medians; the goal for setup is kdeploy/kamal ≤ 0.9 (issue 17).

With `--baseline DIR` (a checkout or `git archive` of another commit), a third tool,
`baseline`, is kdeploy run from DIR's sources (its `frontend` first on PYTHONPATH, so its own
collection too) in the same rounds, and the rows add kdeploy/baseline: a before/after in one run.

    python bench/setup.py [--runs 5] [--no-role] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from common import clean_hosts, compiled, median, sandbox, sandbox_lock, timed, tool, write_project

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import deploy_config

TOOLS = ("kdeploy", "kamal")
NEW_ROLE = "web_new"
# Step -> the goal for kdeploy/kamal (None: printed without a goal).
GOALS = {"setup": 0.9, f"setup -r {NEW_ROLE}": None, "re-run": None}


def main() -> None:
    """Measure and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-role", action="store_true",
                        help=f"skip step 3 (setup -r {NEW_ROLE})")
    parser.add_argument("--baseline", type=Path,
                        help="also time kdeploy from this source tree (before/after)")
    args = parser.parse_args()
    with sandbox_lock():
        _measure(args)


def _measure(args: argparse.Namespace) -> None:
    info = sandbox(3)
    steps = [step for step in GOALS if not (args.no_role and step.startswith("setup -r"))]
    tools = (*TOOLS, "baseline") if args.baseline else TOOLS
    envs: dict[str, Mapping[str, str]] = {name: {} for name in tools}
    if args.baseline:
        envs["baseline"] = {"PYTHONPATH": str(compiled(args.baseline.resolve()) / "frontend")}
    times = {step: {name: [] for name in tools} for step in steps}
    with tempfile.TemporaryDirectory() as directory:
        project = write_project(Path(directory) / "founding", info)
        with_role = write_project(Path(directory) / "with_role", info,
                                  servers=_servers_with_new_role(info))
        try:
            for run in range(args.runs):
                order = tools[run % len(tools):] + tools[:run % len(tools)]
                for name in order:
                    clean_hosts(info)
                    argv = [tool("kamal" if name == "kamal" else "kdeploy"), "setup", "-P",
                            "--version", "v1", "-q"]
                    times["setup"][name].append(timed(argv, project, envs[name]))
                    times["re-run"][name].append(timed(argv, project, envs[name]))
                    if f"setup -r {NEW_ROLE}" in times:
                        times[f"setup -r {NEW_ROLE}"][name].append(
                            timed([*argv, "-r", NEW_ROLE], with_role, envs[name]))
                print(f"round {run + 1}/{args.runs} done ({', '.join(order)})", flush=True)
        finally:
            clean_hosts(info)
    print(f"\n3 hosts (web x2, job x1) + accessory db, medians of {args.runs} (min-max):")
    for step in steps:
        print(_row(step, times[step], GOALS[step]))


def _servers_with_new_role(info: SandboxInfo) -> dict[str, object]:
    """The example's servers plus the role web_new on the last host."""
    config = deploy_config(info.registry, str(info.key_path), [h.address for h in info.hosts])
    servers = dict(config["servers"])
    servers[NEW_ROLE] = {"hosts": [info.hosts[-1].address], "proxy": False}
    return servers


def _row(step: str, times: dict[str, Sequence[float]], goal: float | None) -> str:
    cells = "  ".join(f"{name} {median(values):6.2f}s ({min(values):.2f}-{max(values):.2f})"
                      for name, values in times.items())
    ratio = median(times["kdeploy"]) / median(times["kamal"])
    verdict = "" if goal is None else f"  goal ≤ {goal}: {'met' if ratio <= goal else 'not met'}"
    before = (f"  kdeploy/baseline {median(times['kdeploy']) / median(times['baseline']):.2f}"
              if "baseline" in times else "")
    return f"{step:16} {cells}  kdeploy/kamal {ratio:.2f}{verdict}{before}"


if __name__ == "__main__":
    main()
