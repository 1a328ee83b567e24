"""kdeploy deploy vs kamal deploy vs the floor (plain SSH + docker), on 3 and on 10 hosts.

On one sandbox and one config (`proxy: false` roles, `readiness_delay: 0` unless
`--readiness-delay` says otherwise; web on every host but the last, job on the last), sets up
v1 once (untimed), then deploys alternately with
`kdeploy deploy -P --version V -q` and `kamal deploy -P --version V -q` (Kamal 2.11.0), `--runs`
times each, V switching between v2 and v1 so that every timed deploy replaces the running
version (both tools act on the same containers: they are interoperable). The floor is one
parallel plain `ssh` per app host doing only `docker pull`, `docker run -d` of the new version
and `docker stop` of the old one (its own containers, no ControlMaster, kdeploy's key
exchange). Prints the medians and kdeploy/kamal and kdeploy/floor per host count; `--mitogen`
adds kdeploy with KDEPLOY_MITOGEN=1;
`--baseline DIR` adds the kdeploy of another source tree (a `git archive` of an older commit),
run by this venv's Python, for a before/after in one run.

Besides the wall time, each run's controller CPU: user+sys of the whole process tree, from
getrusage(RUSAGE_CHILDREN) before and after. During a run the bench is the child subreaper, so
processes that leave their parent (kdeploy's ssh ControlMaster) are adopted and counted too once
they exit. The CPU per added host is the least-squares slope of the median CPU over the host counts.
Goals (issue 17): kdeploy/kamal <= 0.7 at 3 and 10 hosts, kdeploy/floor <= 2.0 at 3 hosts,
controller CPU per added host <= 0.08 s.

`--readiness-delay SECONDS` sets the config's `readiness_delay`: each role's containers then
run that long before they count as ready, in both tools, so a deploy spends most of its time
waiting on the hosts. What the controller burns while it waits shows in the CPU columns; the
floor does not wait, so kdeploy/floor means nothing then.

No kdeploy run reuses a connection of an earlier one: kdeploy closes its ssh masters when it
exits (Kamal's SSH connections do not outlive its process either). The whole run holds the shared
sandbox's lock; the sandbox has 10 hosts only while 10 hosts are measured, and ends with 3 clean
hosts whatever happens.

    python bench/deploy.py [--runs 5] [--hosts 3 6 10] [--mitogen] [--baseline DIR]
                           [--readiness-delay SECONDS]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    clean_hosts,
    compiled,
    median,
    sandbox,
    sandbox_lock,
    tool,
    web_and_job_roles,
    web_and_job_servers,
    write_project,
)

from kdeploy.run.ssh_config import KEX_ALGORITHMS
from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import JOB_CMD, SERVICE

VERSIONS = ("v1", "v2")
KEX = ",".join(KEX_ALGORITHMS)
FLOOR_PREFIX = "kdeploy-bench-floor"
# Kept after the tools' names: the order of a round rotates, so none always goes first.
TOOLS = ("kdeploy", "kamal", "floor")
MITOGEN = "kdeploy+mitogen"
BASELINE = "kdeploy@baseline"
# prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants become this process's children.
PR_SET_CHILD_SUBREAPER = 36
# How long to wait for orphans (ssh masters closing) after a command exits.
ORPHAN_WAIT = 2.0


@dataclass
class Sample:
    """One timed step: wall seconds and controller CPU seconds (user+sys of the process tree)."""

    wall: float
    cpu: float


def subreaper(on: bool) -> None:
    """Adopt (or stop adopting) orphaned descendants, so that their CPU counts (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")


def children() -> set[int]:
    """This process's children (adopted ones included)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


def reap_orphans(known: set[int]) -> None:
    """Wait for the children adopted during a run (ssh masters that kdeploy closes)."""
    deadline = time.monotonic() + ORPHAN_WAIT
    left = children() - known
    while left and time.monotonic() < deadline:
        for pid in list(left):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                left.discard(pid)
        if left:
            time.sleep(0.01)


def children_cpu() -> float:
    """user+sys of every waited-for descendant so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Run a command to completion: its wall time and its process tree's CPU; exit if it fails."""
    known = children()
    subreaper(True)
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "CI": "true", **env}, check=False)
    wall = time.perf_counter() - started
    reap_orphans(known)
    subreaper(False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n"
                 f"{result.stderr}")
    return Sample(wall, children_cpu() - cpu)


@dataclass
class DeployBench:
    """One sandbox shape: its project, the version running, and the floor's containers."""

    info: SandboxInfo
    project: Path
    scratch: Path
    running: str = "v1"
    floor_version: str = "v1"
    # Host address -> the floor's container running there (none before the first floor run).
    floor_running: dict[str, str] = field(default_factory=dict)
    floor_count: int = 0
    baseline: Path | None = None

    @property
    def roles(self) -> dict[str, str]:
        """Host address -> its one role: web on every host but the last, job on the last."""
        return web_and_job_roles(self.info)

    def servers(self) -> dict[str, dict[str, object]]:
        """The config's servers for `roles`."""
        return web_and_job_servers(self.info)

    def run(self, name: str) -> Sample:
        """One timed step of `name`: the floor, or a deploy with that tool."""
        return self.floor() if name == "floor" else self.deploy(name)

    def deploy(self, name: str) -> Sample:
        """Deploy the other version with one tool, check every host runs it; wall and CPU."""
        version = _other(self.running)
        if name == BASELINE:
            command = [sys.executable, "-m", "kdeploy"]
        else:
            command = [tool("kamal" if name == "kamal" else "kdeploy")]
        sample = measured([*command, "deploy", "-P", "--version", version, "-q"], self.project,
                          env=self._env(name))
        self.running = version
        self._check_running(version)
        return sample

    def floor(self) -> Sample:
        """The floor: per app host one plain ssh: pull, run the new version, stop the old one."""
        version = _other(self.floor_version)
        self.floor_count += 1
        name = f"{FLOOR_PREFIX}-{self.floor_count}"
        image = f"{self.info.registry}/{SERVICE}:{version}"
        scripts = {}
        for address, role in self.roles.items():
            cmd = f" {JOB_CMD}" if role == "job" else ""
            steps = [f"docker pull -q {image} >/dev/null",
                     f"docker run -d --name {name} {image}{cmd} >/dev/null"]
            if address in self.floor_running:
                steps.append(f"docker stop {self.floor_running[address]} >/dev/null")
            scripts[address] = " && ".join(steps)
        cpu = children_cpu()
        # The cheapest key exchange, as kdeploy's (and Kamal's): the least any tool can do.
        elapsed = _parallel_ssh(self.info, scripts, ["-o", f"KexAlgorithms={KEX}"])
        self.floor_running = dict.fromkeys(self.roles, name)
        self.floor_version = version
        return Sample(elapsed, children_cpu() - cpu)

    def _env(self, name: str) -> dict[str, str]:
        if name == "kamal":
            # Kamal (net-ssh) keeps its own known_hosts; a HOME of its own knows only this sandbox.
            return {"HOME": str(self.scratch / "kamal-home")}
        if name == BASELINE and self.baseline is not None:
            # The older source tree's package, and through it its own collection.
            return {"KDEPLOY_MITOGEN": "0", "PYTHONPATH": str(self.baseline / "frontend")}
        return {"KDEPLOY_MITOGEN": "1" if name == MITOGEN else "0"}

    def _check_running(self, version: str) -> None:
        scripts = {address: f"docker ps --filter label=service={SERVICE} --filter label=role={role}"
                            " --format '{{.Names}}'"
                   for address, role in self.roles.items()}
        for address, output in _ssh_outputs(self.info, scripts).items():
            expected = f"{SERVICE}-{self.roles[address]}-{version}"
            if output.split() != [expected]:
                sys.exit(f"{address} runs {output.split()} after the deploy, not {expected}")


def _other(version: str) -> str:
    return VERSIONS[1 - VERSIONS.index(version)]


def _parallel_ssh(info: SandboxInfo, scripts: dict[str, str], options: list[str]) -> float:
    started = time.perf_counter()
    _ssh_outputs(info, scripts, options)
    return time.perf_counter() - started


def _ssh_outputs(info: SandboxInfo, scripts: dict[str, str],
                 options: list[str] | None = None) -> dict[str, str]:
    # Plain ssh (info.ssh_command has no ControlMaster): one new connection per host, in parallel.
    procs = {address: subprocess.Popen(_with_options(info.ssh_command(address, script), options),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for address, script in scripts.items()}
    outputs = {}
    for address, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"ssh {address} {scripts[address]!r} failed ({proc.returncode}): {err}")
        outputs[address] = out
    return outputs


def _with_options(argv: list[str], options: list[str] | None) -> list[str]:
    return [argv[0], *(options or ()), *argv[1:]]


def measure(hosts: int, runs: int, names: tuple[str, ...], say: Callable[[str], None],
            baseline: Path | None = None, readiness_delay: int = 0) -> dict[str, list[Sample]]:
    """Time `runs` deploys with each of `names` on a sandbox of `hosts` hosts."""
    info = sandbox(hosts)
    clean_hosts(info)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as directory:
        scratch = Path(directory)
        bench = DeployBench(info, scratch / "project", scratch, baseline=baseline)
        write_project(bench.project, info, servers=bench.servers(),
                      readiness_delay=readiness_delay)
        (scratch / "kamal-home").mkdir()
        say(f"{hosts} hosts: setting up v1, then one untimed deploy per tool (images, known_hosts)")
        measured([tool("kdeploy"), "setup", "-P", "--version", "v1", "-q"], bench.project, {})
        for name in names:
            bench.run(name)
        for run in range(runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                sample = bench.run(name)
                samples[name].append(sample)
                say(f"{hosts} hosts, run {run + 1}/{runs}: {name} {sample.wall:.2f}s "
                    f"(cpu {sample.cpu:.2f}s)")
    return samples


def _spread(values: list[float]) -> str:
    return f"{median(values):.2f}s [{min(values):.2f}-{max(values):.2f}]"


def report(hosts: int, runs: int, samples: dict[str, list[Sample]]) -> str:
    """The medians (with min-max) and ratios of one host count, as printed."""
    walls = {name: [s.wall for s in values] for name, values in samples.items()}
    medians = {name: median(values) for name, values in walls.items()}
    kdeploy = medians["kdeploy"]
    lines = [f"{hosts} hosts (median of {runs}), wall: " + "  ".join(
        f"{name} {_spread(values)}" for name, values in walls.items())]
    lines.append("  controller cpu: " + "  ".join(
        f"{name} {_spread([s.cpu for s in values])}" for name, values in samples.items()))
    lines.append(f"  kdeploy/kamal {kdeploy / medians['kamal']:.2f} (goal <= 0.7)  "
                 f"kdeploy/floor {kdeploy / medians['floor']:.2f}"
                 + (" (goal <= 2.0)" if hosts == 3 else ""))
    lines.append("  kdeploy/kamal per run, in the order they alternated: " + " ".join(
        f"{k.wall / m.wall:.2f}" for k, m in zip(samples["kdeploy"], samples["kamal"],
                                                 strict=True)))
    if MITOGEN in medians:
        lines.append(f"  kdeploy+mitogen/kamal {medians[MITOGEN] / medians['kamal']:.2f}  "
                     f"kdeploy+mitogen/kdeploy {medians[MITOGEN] / kdeploy:.2f}")
    if BASELINE in medians:
        lines.append(f"  kdeploy/baseline {kdeploy / medians[BASELINE]:.2f}  "
                     f"baseline/kamal {medians[BASELINE] / medians['kamal']:.2f}")
    return "\n".join(lines)


def slope(points: list[tuple[int, float]]) -> float:
    """The least-squares slope of (hosts, seconds): seconds per added host."""
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def cpu_report(results: dict[int, dict[str, list[Sample]]]) -> str:
    """Controller CPU per added host of each tool, from the median CPU at each host count."""
    names = [name for name in next(iter(results.values())) if name != "floor"]
    lines = ["controller cpu per added host (least-squares slope of the medians over "
             f"{', '.join(map(str, results))} hosts; goal <= 0.08 s):"]
    for name in names:
        points = [(hosts, median([s.cpu for s in samples[name]]))
                  for hosts, samples in results.items()]
        lines.append(f"  {name} {slope(points):.3f} s/host  (" + ", ".join(
            f"{hosts} hosts {cpu:.2f}s" for hosts, cpu in points) + ")")
    return "\n".join(lines)


def main() -> None:
    """Measure every host count under the sandbox lock, then print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 6, 10])
    parser.add_argument("--mitogen", action="store_true",
                        help="also time kdeploy with KDEPLOY_MITOGEN=1")
    parser.add_argument("--baseline", type=Path,
                        help="also time the kdeploy of this source tree (e.g. a git archive of "
                             "main), with this venv's Python")
    parser.add_argument("--readiness-delay", type=int, default=0, metavar="SECONDS",
                        help="the config's readiness_delay: deploys that wait on the hosts")
    args = parser.parse_args()
    names = (*TOOLS, *((MITOGEN,) if args.mitogen else ()),
             *((BASELINE,) if args.baseline else ()))

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = {}
    baseline = compiled(args.baseline.resolve()) if args.baseline else None
    with sandbox_lock():
        try:
            for hosts in args.hosts:
                results[hosts] = measure(hosts, args.runs, names, say, baseline,
                                         args.readiness_delay)
        finally:
            say("Restoring a clean 3-host sandbox")
            clean_hosts(sandbox(3))
    for hosts, samples in results.items():
        print(report(hosts, args.runs, samples))
    if len(results) > 1:
        print(cpu_report(results))


if __name__ == "__main__":
    main()
