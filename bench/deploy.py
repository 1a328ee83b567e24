"""kdeploy deploy vs kamal deploy vs the floor (plain SSH + docker), on 3 and on 10 hosts.

On one sandbox and one config (`proxy: false` roles, `readiness_delay: 0`; web on every host but
the last, job on the last), sets up v1 once (untimed), then deploys alternately with
`kdeploy deploy -P --version V -q` and `kamal deploy -P --version V -q` (Kamal 2.11.0), `--runs`
times each, V switching between v2 and v1 so that every timed deploy replaces the running
version (both tools act on the same containers: they are interoperable). The floor is one
parallel plain `ssh` per app host doing only `docker pull`, `docker run -d` of the new version
and `docker stop` of the old one (its own containers, no ControlMaster). Prints the medians and
kdeploy/kamal and kdeploy/floor per host count; `--mitogen` adds kdeploy with KDEPLOY_MITOGEN=1.
Goal: kdeploy/kamal <= 1.0 on 3 hosts and < 1.0 on 10 hosts.

No kdeploy run reuses a connection of an earlier one: kdeploy closes its ssh masters when it
exits (Kamal's SSH connections do not outlive its process either). The whole run holds the shared
sandbox's lock; the sandbox has 10 hosts only while 10 hosts are measured, and ends with 3 clean
hosts whatever happens.

    python bench/deploy.py [--runs 5] [--hosts 3 10] [--mitogen]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import clean_hosts, median, sandbox, sandbox_lock, timed, tool, write_project

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import JOB_CMD, SERVICE

VERSIONS = ("v1", "v2")
FLOOR_PREFIX = "kdeploy-bench-floor"
# Kept after the tools' names: the order of a round rotates, so none always goes first.
TOOLS = ("kdeploy", "kamal", "floor")
MITOGEN = "kdeploy+mitogen"


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

    @property
    def roles(self) -> dict[str, str]:
        """Host address -> its one role: web on every host but the last, job on the last."""
        *web, job = (host.address for host in self.info.hosts)
        return {**dict.fromkeys(web, "web"), job: "job"}

    def servers(self) -> dict[str, dict[str, object]]:
        """The config's servers for `roles`."""
        web = [address for address, role in self.roles.items() if role == "web"]
        job = [address for address, role in self.roles.items() if role == "job"]
        return {"web": {"hosts": web, "proxy": False},
                "job": {"hosts": job, "cmd": JOB_CMD, "proxy": False}}

    def run(self, name: str) -> float:
        """One timed step of `name`: the floor, or a deploy with that tool."""
        return self.floor() if name == "floor" else self.deploy(name)

    def deploy(self, name: str) -> float:
        """Deploy the other version with one tool, check every host runs it; the wall time."""
        version = _other(self.running)
        executable = tool("kamal" if name == "kamal" else "kdeploy")
        elapsed = timed([executable, "deploy", "-P", "--version", version, "-q"], self.project,
                        env=self._env(name))
        self.running = version
        self._check_running(version)
        return elapsed

    def floor(self) -> float:
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
        elapsed = _parallel_ssh(self.info, scripts)
        self.floor_running = dict.fromkeys(self.roles, name)
        self.floor_version = version
        return elapsed

    def _env(self, name: str) -> dict[str, str]:
        if name == "kamal":
            # Kamal (net-ssh) keeps its own known_hosts; a HOME of its own knows only this sandbox.
            return {"HOME": str(self.scratch / "kamal-home")}
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


def _parallel_ssh(info: SandboxInfo, scripts: dict[str, str]) -> float:
    started = time.perf_counter()
    _ssh_outputs(info, scripts)
    return time.perf_counter() - started


def _ssh_outputs(info: SandboxInfo, scripts: dict[str, str]) -> dict[str, str]:
    # Plain ssh (info.ssh_command has no ControlMaster): one new connection per host, in parallel.
    procs = {address: subprocess.Popen(info.ssh_command(address, script),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for address, script in scripts.items()}
    outputs = {}
    for address, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"ssh {address} {scripts[address]!r} failed ({proc.returncode}): {err}")
        outputs[address] = out
    return outputs


def measure(hosts: int, runs: int, names: tuple[str, ...], say: Callable[[str], None]
            ) -> dict[str, list[float]]:
    """Time `runs` deploys with each of `names` on a sandbox of `hosts` hosts."""
    info = sandbox(hosts)
    clean_hosts(info)
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as directory:
        scratch = Path(directory)
        bench = DeployBench(info, scratch / "project", scratch)
        write_project(bench.project, info, servers=bench.servers())
        (scratch / "kamal-home").mkdir()
        say(f"{hosts} hosts: setting up v1, then one untimed deploy per tool (images, known_hosts)")
        timed([tool("kdeploy"), "setup", "-P", "--version", "v1", "-q"], bench.project)
        for name in names:
            bench.run(name)
        for run in range(runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                elapsed = bench.run(name)
                times[name].append(elapsed)
                say(f"{hosts} hosts, run {run + 1}/{runs}: {name} {elapsed:.2f}s")
    return times


def report(hosts: int, runs: int, times: dict[str, list[float]]) -> str:
    """The medians and ratios of one host count, as printed."""
    medians = {name: median(values) for name, values in times.items()}
    kdeploy = medians["kdeploy"]
    lines = [f"{hosts} hosts (median of {runs}): " + "  ".join(
        f"{name} {value:.2f}s [{min(times[name]):.2f}-{max(times[name]):.2f}]"
        for name, value in medians.items())]
    lines.append(f"  kdeploy/kamal {kdeploy / medians['kamal']:.2f}  "
                 f"kdeploy/floor {kdeploy / medians['floor']:.2f}")
    if MITOGEN in medians:
        lines.append(f"  kdeploy+mitogen/kamal {medians[MITOGEN] / medians['kamal']:.2f}  "
                     f"kdeploy+mitogen/kdeploy {medians[MITOGEN] / kdeploy:.2f}")
    return "\n".join(lines)


def main() -> None:
    """Measure every host count under the sandbox lock, then print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--mitogen", action="store_true",
                        help="also time kdeploy with KDEPLOY_MITOGEN=1")
    args = parser.parse_args()
    names = (*TOOLS, MITOGEN) if args.mitogen else TOOLS

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = {}
    with sandbox_lock():
        try:
            for hosts in args.hosts:
                results[hosts] = measure(hosts, args.runs, names, say)
        finally:
            say("Restoring a clean 3-host sandbox")
            clean_hosts(sandbox(3))
    for hosts, times in results.items():
        print(report(hosts, args.runs, times))


if __name__ == "__main__":
    main()
