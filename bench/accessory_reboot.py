"""How long an accessory does not answer during `accessory reboot` to a new image: kdeploy vs Kamal.

On the sandbox example (the `db` accessory on host 1: `kdeploy-db`, answering every TCP
connection on 5432 with `kdeploy-db <version>`), each timed run reboots the accessory to the
other image (`kdeploy-db:1` <-> `kdeploy-db:2`, written into config/deploy.yml) with
`kdeploy accessory reboot db` or `kamal accessory reboot db` (Kamal 2.11.0), after removing that
image from the host, so the reboot has to pull it. Meanwhile a prober on this machine connects to
host 1:5432 every ~20 ms and reads the answer; the gap of a run is the longest time between two
answered probes (a probe is answered when the line names a kdeploy-db version). Each run also
checks that the new version answers afterwards. Prints the median gap per tool and
kdeploy/kamal (goal: <= 0.25). `--tools kdeploy kamal floor` adds the floor: one plain ssh that
pulls the image, then stops, removes and runs the container (Kamal's run arguments, no env file).

Both tools reboot the same container in turn (they are interoperable), the order of a round
rotating. kdeploy is measured only once `kdeploy accessory reboot` exists. The whole run holds
the shared sandbox's lock and ends with 3 clean hosts whatever happens.

    python bench/accessory_reboot.py [--runs 5] [--tools kdeploy kamal [floor]]
"""

from __future__ import annotations

import argparse
import itertools
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from common import clean_hosts, median, sandbox, sandbox_lock, timed, tool, write_project

from kdeploy.sandbox import SandboxInfo

IMAGES = ("1", "2")
PORT = 5432
PROBE_EVERY = 0.02
PROBE_TIMEOUT = 0.1
TOOLS = ("kdeploy", "kamal")
# The floor (`--tools ... floor`): one plain ssh that pulls, then stops, removes and runs the
# container with Kamal's docker run arguments (no env file): the restart alone.
FLOOR = "floor"
DB_SERVICE = "kdeploy-demo-db"
# Kamal takes the version from git; the bench project is not a repository.
VERSION = ("--version", "v1")


@dataclass
class Prober:
    """Connects to the accessory every PROBE_EVERY seconds in a thread; records the answers."""

    address: str
    port: int = PORT
    # (monotonic time, the version answered or None)
    probes: list[tuple[float, str | None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.probes.append((started, probe(self.address, self.port)))
            self._stop.wait(max(0.0, PROBE_EVERY - (time.monotonic() - started)))

    def longest_gap(self) -> float:
        """The longest time between two answered probes (the whole run if none answered)."""
        answered = [at for at, version in self.probes if version]
        if len(answered) < 2:
            return self.probes[-1][0] - self.probes[0][0] if self.probes else 0.0
        return max(later - earlier for earlier, later in itertools.pairwise(answered))

    def last_version(self) -> str | None:
        """The version the last answered probe named."""
        return next((version for _, version in reversed(self.probes) if version), None)


def probe(address: str, port: int) -> str | None:
    """Connect, read the greeting; the version it names, or None when nothing answered."""
    try:
        with socket.create_connection((address, port), timeout=PROBE_TIMEOUT) as conn:
            conn.settimeout(PROBE_TIMEOUT)
            data = b""
            while b"\n" not in data:
                chunk = conn.recv(256)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    words = data.decode(errors="replace").split()
    # A published port may accept through docker-proxy with no container behind: no greeting.
    return words[1] if len(words) == 2 and words[0] == "kdeploy-db" else None


@dataclass
class RebootBench:
    """The project, the image the db runs now, and how to reboot it with each tool."""

    info: SandboxInfo
    project: Path
    scratch: Path
    running: str = "1"

    @property
    def db_address(self) -> str:
        """Host 1, where the example's db accessory lives."""
        return self.info.hosts[0].address

    def image(self, version: str) -> str:
        """The db image of one version in the sandbox registry."""
        return f"{self.info.registry}/kdeploy-db:{version}"

    def set_image(self, version: str) -> None:
        """Point config/deploy.yml's db accessory at `kdeploy-db:<version>`."""
        config_file = self.project / "config" / "deploy.yml"
        config = yaml.safe_load(config_file.read_text())
        config["accessories"]["db"]["image"] = self.image(version)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    def boot(self) -> None:
        """Boot the db on image 1 with Kamal (untimed), and wait until it answers."""
        self.set_image("1")
        timed([tool("kamal"), "accessory", "boot", "db", *VERSION], self.project,
              env=self._env("kamal"))
        deadline = time.monotonic() + 30
        while probe(self.db_address, PORT) != "1":
            if time.monotonic() > deadline:
                sys.exit("The db accessory does not answer after `kamal accessory boot db`")
            time.sleep(0.1)

    def reboot(self, name: str) -> tuple[float, float]:
        """Reboot the db to the other image with one tool: (longest gap, wall time)."""
        version = IMAGES[1 - IMAGES.index(self.running)]
        # The new image must be pulled by the reboot: not on the host before it.
        self._ssh(f"docker image rm -f {self.image(version)} >/dev/null 2>&1; true")
        self.set_image(version)
        argv = ([*self.info.ssh_command(self.info.hosts[0], self._floor_script(version))]
                if name == FLOOR else [tool(name), "accessory", "reboot", "db", *VERSION])
        with Prober(self.db_address) as prober:
            time.sleep(0.3)  # answered probes before the reboot starts
            elapsed = timed(argv, self.project, env=self._env(name))
            deadline = time.monotonic() + 30
            while prober.last_version() != version and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)
        if prober.last_version() != version:
            sys.exit(f"After `{name} accessory reboot db` the db answers "
                     f"{prober.last_version()!r}, not {version!r}")
        self.running = version
        return prober.longest_gap(), elapsed

    def _floor_script(self, version: str) -> str:
        image = self.image(version)
        return (f"docker pull -q {image} >/dev/null"
                f" && docker container stop {DB_SERVICE} >/dev/null"
                f" && docker container rm {DB_SERVICE} >/dev/null && docker run --name {DB_SERVICE}"
                f" --detach --restart unless-stopped --network kamal --log-opt max-size=10m"
                f" --publish 5432:5432 --label service={DB_SERVICE}"
                f" --volume $HOME/{DB_SERVICE}/data:/data {image} >/dev/null")

    def _env(self, name: str) -> dict[str, str]:
        if name == "kamal":
            # Kamal (net-ssh) keeps its own known_hosts; a HOME of its own knows only this sandbox.
            return {"HOME": str(self.scratch / "kamal-home")}
        return {}  # kdeploy's ssh masters end with each command

    def _ssh(self, script: str) -> None:
        subprocess.run(self.info.ssh_command(self.info.hosts[0], script), check=True,
                       capture_output=True)


def kdeploy_can_reboot() -> bool:
    """True once `kdeploy accessory reboot` exists."""
    result = subprocess.run([tool("kdeploy"), "accessory", "reboot", "--help"],
                            capture_output=True, text=True, check=False)
    return result.returncode == 0


def measure(runs: int, names: tuple[str, ...], say: Callable[[str], None]
            ) -> dict[str, list[tuple[float, float]]]:
    """`runs` reboots with each tool on the 3-host sandbox: (gap, wall time) per run."""
    info = sandbox(3)
    clean_hosts(info)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as directory:
        scratch = Path(directory)
        (scratch / "kamal-home").mkdir()
        bench = RebootBench(info, write_project(scratch / "project", info), scratch)
        say("Booting db (kdeploy-db:1) with kamal accessory boot")
        bench.boot()
        for run in range(runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                gap, elapsed = bench.reboot(name)
                results[name].append((gap, elapsed))
                say(f"run {run + 1}/{runs}: {name} gap {gap * 1000:.0f} ms "
                    f"(reboot took {elapsed:.2f}s, now kdeploy-db:{bench.running})")
    return results


def report(runs: int, results: dict[str, list[tuple[float, float]]]) -> str:
    """The median gaps (and wall times) and kdeploy/kamal, as printed."""
    lines = []
    gaps = {}
    for name, values in results.items():
        gaps[name] = median([gap for gap, _ in values])
        low, high = (min(g for g, _ in values) * 1000, max(g for g, _ in values) * 1000)
        lines.append(f"{name}: gap median {gaps[name] * 1000:.0f} ms [{low:.0f}-{high:.0f}], "
                     f"reboot wall time median {median([e for _, e in values]):.2f}s "
                     f"(median of {runs})")
    if "kdeploy" in gaps and "kamal" in gaps:
        lines.append(f"kdeploy/kamal gap {gaps['kdeploy'] / gaps['kamal']:.2f} (goal <= 0.25)")
    if FLOOR in gaps and "kamal" in gaps:
        lines.append(f"floor/kamal gap {gaps[FLOOR] / gaps['kamal']:.2f}")
    return "\n".join(lines)


def main() -> None:
    """Measure under the sandbox lock, restore a clean 3-host sandbox, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tools", nargs="+", choices=(*TOOLS, FLOOR), default=list(TOOLS))
    args = parser.parse_args()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    names = tuple(args.tools)
    if "kdeploy" in names and not kdeploy_can_reboot():
        say("kdeploy: not measured, `kdeploy accessory reboot` does not exist yet")
        names = tuple(name for name in names if name != "kdeploy")
    if not names:
        sys.exit("Nothing to measure")
    with sandbox_lock():
        try:
            results = measure(args.runs, names, say)
        finally:
            say("Restoring a clean 3-host sandbox")
            info = sandbox(3)
            clean_hosts(info)
            # The db accessory's directory (~/<service>-db) is deploy state too.
            subprocess.run(info.ssh_command(info.hosts[0], "rm -rf ~/kdeploy-demo-db"),
                           check=False, capture_output=True)
    print(report(args.runs, results))


if __name__ == "__main__":
    main()
