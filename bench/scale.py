"""The controller's cost of a deploy per host: CPU and memory of kdeploy's and Kamal's processes.

On 3, 6 and 10 sandbox hosts (the shape of bench/deploy.py: `proxy: false` roles,
`readiness_delay: 0`, web on every host but the last, job on the last), sets up v1 once
(untimed), deploys once with each tool (untimed: images and known_hosts), then runs
`kdeploy deploy -P --version V -q` and `kamal deploy -P --version V -q` (Kamal 2.11.0)
alternately, `--runs` times each, V switching between v2 and v1 so that every deploy replaces
the running version. For each deploy it measures, on this machine (the controller):

- CPU: user+sys of the command's whole process tree, the `RUSAGE_CHILDREN` delta of this
  process around it. kdeploy is a child subreaper and reaps its ssh ControlPersist masters
  before it exits, so their encryption work is counted as well as Ansible's workers; Kamal is
  one Ruby process (net-ssh runs inside it).
- Memory: every 50 ms, the sum over the tree's processes of PSS (`/proc/PID/smaps_rollup`: a
  page shared by k processes counts 1/k, so forked workers are not counted many times), with the
  ssh processes' share; the peak of the run. Also the peak RSS sum and process count.

Then prints per host count and tool the medians, the least-squares slope per added host of CPU
and of peak PSS (ssh and the rest apart), and what a 200- and a 1,000-host deploy would cost one
controller (bench/scale_model.py: the per-host memory grows with every host, the per-fork
memory stops at `forks` = 30; wall time is at least CPU / `--cores` (one core for Kamal's Ruby),
and at least one round of `--host-seconds` per 30 hosts for kdeploy). `--save` keeps every run as
JSON, and `--from` prints the report of saved runs again (other `--cores`, `--host-seconds`)
without measuring. docs/scale.md has the numbers and the reasoning.

The whole run holds the sandbox instance's lock; the sandbox has 6 or 10 hosts only while they
are measured, and ends with 3 clean hosts whatever happens.

    python bench/scale.py [--runs 5] [--hosts 3 6 10] [--cores 2 8] [--host-seconds 2]
                          [--save runs.json | --from runs.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from common import (
    clean_hosts,
    median,
    sandbox,
    sandbox_lock,
    timed,
    tool,
    web_and_job_roles,
    web_and_job_servers,
    write_project,
)
from scale_model import ControllerModel, Line, fit_line

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

TOOLS = ("kdeploy", "kamal")
VERSIONS = ("v1", "v2")
SAMPLE_SECONDS = 0.05
# kdeploy's default forks (Kamal's sshkit/max_concurrent_starts); Kamal works on every host.
FORKS = {"kdeploy": 30, "kamal": None}
# Ansible's workers are processes; Kamal's threads share one Ruby interpreter lock.
MAX_CORES = {"kdeploy": None, "kamal": 1}
EXTRAPOLATE = (200, 1000)
MB = 1024  # smaps_rollup counts in kB


@dataclass
class Peak:
    """The largest memory a process tree held at once during one run (kB)."""

    pss: int = 0
    ssh_pss: int = 0  # the ssh processes' part of `pss`, at the same moment
    rss: int = 0
    processes: int = 0


@dataclass
class Run:
    """One measured deploy."""

    wall: float
    cpu: float
    peak: Peak


@dataclass
class TreeSampler:
    """Samples the memory of a process and all its descendants every SAMPLE_SECONDS."""

    pid: int
    peak: Peak = field(default_factory=Peak)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        """Add one sample of the tree to the peaks."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        pss = ssh_pss = rss = 0
        for proc in tree:
            proc_rss, proc_pss = _memory(proc.pid)
            rss += proc_rss
            pss += proc_pss
            if _name(proc.pid) == "ssh":
                ssh_pss += proc_pss
        if pss > self.peak.pss:
            self.peak.pss, self.peak.ssh_pss = pss, ssh_pss
        self.peak.rss = max(self.peak.rss, rss)
        self.peak.processes = max(self.peak.processes, len(tree))


def _memory(pid: int) -> tuple[int, int]:
    # (RSS, PSS) in kB; a process that just ended counts nothing.
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Pss", 0)


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def measured(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run a command to completion; its wall time, tree CPU and peak memory. Fail if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "CI": "true", **env})
    with TreeSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{out}\n{err}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall=wall, cpu=cpu, peak=sampler.peak)


@dataclass
class ScaleBench:
    """One sandbox shape: its project and the version running."""

    info: SandboxInfo
    project: Path
    kamal_home: Path
    running: str = "v1"

    @property
    def roles(self) -> dict[str, str]:
        """Host address -> its one role: web on every host but the last, job on the last."""
        return web_and_job_roles(self.info)

    def servers(self) -> dict[str, dict[str, object]]:
        """The config's servers for `roles`."""
        return web_and_job_servers(self.info)

    def deploy(self, name: str) -> Run:
        """Deploy the other version with one tool, check every host runs it; the measurements."""
        version = VERSIONS[1 - VERSIONS.index(self.running)]
        # Kamal (net-ssh) keeps its own known_hosts; a HOME of its own knows only this sandbox.
        env = ({"HOME": str(self.kamal_home)} if name == "kamal"
               else {"KDEPLOY_MITOGEN": "0"})
        run = measured([tool(name), "deploy", "-P", "--version", version, "-q"], self.project, env)
        self.running = version
        self._check_running(version)
        return run

    def _check_running(self, version: str) -> None:
        procs = {address: subprocess.Popen(
            self.info.ssh_command(address, f"docker ps --filter label=service={SERVICE} "
                                           f"--filter label=role={role} --format '{{{{.Names}}}}'"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for address, role in self.roles.items()}
        for address, proc in procs.items():
            out, err = proc.communicate()
            expected = f"{SERVICE}-{self.roles[address]}-{version}"
            if proc.returncode != 0 or out.split() != [expected]:
                sys.exit(f"{address} runs {out.split()} after the deploy, not {expected} {err}")


def measure(hosts: int, runs: int, say: Callable[[str], None]) -> dict[str, list[Run]]:
    """Measure `runs` deploys with each tool on a sandbox of `hosts` hosts."""
    info = sandbox(hosts)
    clean_hosts(info)
    results: dict[str, list[Run]] = {name: [] for name in TOOLS}
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-scale-") as directory:
        scratch = Path(directory)
        bench = ScaleBench(info, scratch / "project", scratch / "kamal-home")
        write_project(bench.project, info, servers=bench.servers())
        bench.kamal_home.mkdir()
        say(f"{hosts} hosts: setting up v1, then one untimed deploy per tool (images, known_hosts)")
        timed([tool("kdeploy"), "setup", "-P", "--version", "v1", "-q"], bench.project)
        for name in TOOLS:
            bench.deploy(name)
        for number in range(runs):
            # The order rotates, so neither tool always goes first.
            order = TOOLS[number % 2:] + TOOLS[:number % 2]
            for name in order:
                run = bench.deploy(name)
                results[name].append(run)
                say(f"{hosts} hosts, run {number + 1}/{runs}: {name} wall {run.wall:.2f}s "
                    f"cpu {run.cpu:.2f}s pss {run.peak.pss / MB:.0f}MB "
                    f"(ssh {run.peak.ssh_pss / MB:.0f}MB) procs {run.peak.processes}")
    return results


@dataclass(frozen=True)
class Medians:
    """The medians of one tool at one host count."""

    wall: float
    cpu: float
    pss: float  # MB
    ssh_pss: float  # MB
    rss: float  # MB
    processes: float

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Medians:
        """The medians of `runs`."""
        return cls(wall=median([run.wall for run in runs]), cpu=median([run.cpu for run in runs]),
                   pss=median([run.peak.pss / MB for run in runs]),
                   ssh_pss=median([run.peak.ssh_pss / MB for run in runs]),
                   rss=median([run.peak.rss / MB for run in runs]),
                   processes=median([run.peak.processes for run in runs]))


def model(name: str, medians: dict[int, Medians]) -> ControllerModel:
    """The tool's cost lines fitted over the measured host counts."""
    return ControllerModel(
        cpu=fit_line([(hosts, m.cpu) for hosts, m in medians.items()]),
        per_host_memory=fit_line([(hosts, m.ssh_pss) for hosts, m in medians.items()]),
        per_fork_memory=fit_line([(hosts, m.pss - m.ssh_pss) for hosts, m in medians.items()]),
        forks=FORKS[name], max_cores=MAX_CORES[name])


def _line(line: Line, unit: str) -> str:
    return f"{line.intercept:.2f} {unit} + {line.slope:.3f} {unit}/host"


def report(results: dict[int, dict[str, list[Run]]], runs: int, cores: Sequence[int],
           host_seconds: float) -> str:
    """The medians per host count, the slopes and the extrapolation, as printed."""
    lines = [f"Medians of {runs} runs (peak memory: PSS of the whole tree, ssh processes apart)",
             "| hosts | tool | wall | CPU user+sys | peak PSS | of which ssh | peak RSS sum "
             "| processes |",
             "|---|---|---|---|---|---|---|---|"]
    medians: dict[str, dict[int, Medians]] = {name: {} for name in TOOLS}
    for hosts, by_tool in results.items():
        for name in TOOLS:
            m = medians[name][hosts] = Medians.of(by_tool[name])
            lines.append(f"| {hosts} | {name} | {m.wall:.2f} s | {m.cpu:.2f} s | {m.pss:.0f} MB "
                         f"| {m.ssh_pss:.0f} MB | {m.rss:.0f} MB | {m.processes:.0f} |")
    if len(results) < 2:
        return "\n".join(lines)
    models = {name: model(name, medians[name]) for name in TOOLS}
    lines += ["", "Least squares over the host counts (per added host):"]
    for name, fitted in models.items():
        lines.append(f"  {name}: CPU {_line(fitted.cpu, 's')}; memory per host for the whole run "
                     f"{_line(fitted.per_host_memory, 'MB')}; the rest "
                     f"{_line(fitted.per_fork_memory, 'MB')}"
                     + (f" (capped at forks={fitted.forks} hosts)" if fitted.forks else ""))
    ratio = models["kdeploy"].cpu.slope / models["kamal"].cpu.slope
    lines.append(f"  CPU per added host, kdeploy/kamal: {ratio:.2f}")
    walls = " | ".join(f"wall at least, {count} cores" for count in cores)
    lines += ["", f"Extrapolated to one controller (one host's release: {host_seconds:g} s):",
              f"| hosts | tool | CPU | peak PSS | {walls} |",
              "|---|---|---|---|" + "---|" * len(cores)]
    for hosts in EXTRAPOLATE:
        for name, fitted in models.items():
            floors = " | ".join(f"{fitted.wall_floor(hosts, count, host_seconds):.0f} s"
                                for count in cores)
            lines.append(f"| {hosts} | {name} | {fitted.cpu_seconds(hosts):.0f} s "
                         f"| {fitted.peak_memory(hosts):.0f} MB | {floors} |")
    return "\n".join(lines)


def save(path: Path, results: dict[int, dict[str, list[Run]]]) -> None:
    """Write every measured run as JSON, for `--from` to report on again."""
    path.write_text(json.dumps({str(hosts): {name: [asdict(run) for run in runs]
                                             for name, runs in by_tool.items()}
                                for hosts, by_tool in results.items()}, indent=1))


def load(path: Path) -> dict[int, dict[str, list[Run]]]:
    """The runs `save` wrote."""
    return {int(hosts): {name: [Run(wall=run["wall"], cpu=run["cpu"], peak=Peak(**run["peak"]))
                                for run in runs]
                         for name, runs in by_tool.items()}
            for hosts, by_tool in json.loads(path.read_text()).items()}


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False, cwd=Path(__file__).parent)
    return result.stdout.strip() or "unknown"


def main() -> None:
    """Measure every host count under the sandbox lock, then print the medians and the model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 6, 10])
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 8],
                        help="controller core counts for the wall-time floor")
    parser.add_argument("--host-seconds", type=float, default=2.0,
                        help="one host's release time on the host, for the wall-time floor")
    parser.add_argument("--save", type=Path, help="also write every run to this JSON file")
    parser.add_argument("--from", dest="source", type=Path,
                        help="measure nothing: report on the runs a --save wrote")
    args = parser.parse_args()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.source:
        results = load(args.source)
    else:
        results = {}
        # CPU time grows on a machine busy with other work: the load goes with the numbers.
        load_before = os.getloadavg()[0]
        with sandbox_lock():
            try:
                for hosts in args.hosts:
                    results[hosts] = measure(hosts, args.runs, say)
            finally:
                say("Restoring a clean 3-host sandbox")
                clean_hosts(sandbox(3))
        if args.save:
            save(args.save, results)
        print(f"bench/scale.py at {_commit()}, {os.cpu_count()} cores here, load average "
              f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after")
    runs = min(len(runs) for by_tool in results.values() for runs in by_tool.values())
    print(report(results, runs, args.cores, args.host_seconds))


if __name__ == "__main__":
    main()
