"""A dockerd in the machine's root namespace with iptables on, and the undoing of what it changed.

Most machines that build images run one. At start it turns on ip_forward and then sets the
FORWARD policy to DROP, adds its chains (DOCKER, DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2) and
FORWARD and NAT rules. It leaves all of it behind when it stops.

    with RootDockerd() as docker:
        assert docker.policy() == "DROP"
        docker.restart()

Only while the e2e lock (/tmp/kdeploy-e2e.lock) is held: the machine is shared. On leaving,
the dockerd and its containerd stop, and the sysctls, policies, chains and rules of every table
are put back as found; the sandbox's own rules stay (they are its business). What was found is
also written to RECORD first, so a test that was killed midway is undone by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from kdeploy.sandbox.firewall_rules import MARK
from kdeploy.sandbox.procs import docker_ping, pid_alive, read_pid, wait_until

# Docker's bridge: our own name and subnet, so it clashes neither with the sandbox nor with a
# docker0 someone else may have; dockerd uses it as it is (`--bridge`) and never deletes it.
BRIDGE = "kdfwdock0"
BRIDGE_ADDRESS = "10.213.250.1/24"
TABLES = ("filter", "nat", "mangle", "raw")
BUILTIN_CHAINS = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
SYSCTLS = (IP_FORWARD, "/proc/sys/net/bridge/bridge-nf-call-iptables",
           "/proc/sys/net/bridge/bridge-nf-call-ip6tables")
RECORD = Path("/run/kdeploy-e2e-root-dockerd.json")


def iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the machine's default `iptables` (the one dockerd uses)."""
    result = subprocess.run(["iptables", "-w", "10", *args], capture_output=True, text=True,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"iptables {' '.join(args)}: {result.stderr.strip()}")
    return result


def listing(table: str) -> list[str]:
    """`iptables -t TABLE -S` without the warning lines."""
    return [line for line in iptables("-t", table, "-S").stdout.splitlines()
            if line and not line.startswith("#")]


def read_sysctls() -> dict[str, str]:
    """The sysctls dockerd may change, as found (missing ones left out)."""
    return {path: Path(path).read_text().strip() for path in SYSCTLS if Path(path).exists()}


class RootDockerd:
    """A dockerd with iptables on in the root namespace, its files in a new directory in /tmp.

    The directory's path is short on purpose: containerd's socket goes under it, and a unix
    socket's path must stay under 108 bytes (pytest's tmp_path is too long).
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="kddock-", dir="/tmp"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        """The dockerd's API socket."""
        return self.directory / "docker.sock"

    def __enter__(self) -> RootDockerd:
        undo_leftovers()
        found = {"directory": str(self.directory), "sysctls": read_sysctls(),
                 "tables": {table: listing(table) for table in TABLES}}
        RECORD.write_text(json.dumps(found))
        try:
            subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE], check=True)
            # dockerd sets the DROP policy when it turns forwarding on, as on a fresh machine.
            Path(IP_FORWARD).write_text("0\n")
            self.start()
        except BaseException:
            undo_leftovers()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        undo_leftovers()

    def start(self) -> None:
        """Start dockerd and wait until it answers (its iptables setup is done by then)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "daemon.json").write_text("{}\n")
        argv = ["dockerd", "--data-root", str(self.directory / "data"),
                "--exec-root", str(self.directory / "exec"),
                "--pidfile", str(self.directory / "docker.pid"),
                "--host", f"unix://{self.socket}",
                "--config-file", str(self.directory / "daemon.json"),
                "--bridge", BRIDGE, "--log-level", "warn"]
        with open(self.directory / "dockerd.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._ready, 60, "the root-namespace dockerd")

    def restart(self) -> None:
        """Stop and start dockerd: at start it puts its FORWARD rules first again."""
        stop_dockerd(self.directory)
        if self.process is not None:
            self.process.wait()
        self.start()

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.directory / "dockerd.log").read_text()[-500:]
            raise AssertionError(f"dockerd exited ({self.process.returncode}): {log}")
        return docker_ping(self.socket)

    def policy(self) -> str:
        """The FORWARD chain's policy in the default iptables."""
        return next(line.split()[2] for line in listing("filter")
                    if line.startswith("-P FORWARD "))


def stop_dockerd(directory: Path) -> None:
    """Stop the dockerd whose files are under `directory`, and every process it left there."""
    pid = read_pid(directory / "docker.pid")
    if pid_alive(pid, "dockerd"):
        os.kill(pid or 0, signal.SIGTERM)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not pid_alive(pid), 30, "dockerd to stop")
    # Its containerd runs in a process group of its own; find it (and anything else) by path.
    for _ in range(50):
        left = _processes_using(directory)
        if not left:
            return
        for other in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(other, signal.SIGKILL)
        time.sleep(0.1)
    raise AssertionError(f"processes of the root dockerd survive: {_processes_using(directory)}")


def undo_leftovers() -> None:
    """Undo a RootDockerd recorded in RECORD (this one's or a killed test's); else nothing."""
    if not RECORD.exists():
        return
    found = json.loads(RECORD.read_text())
    directory = Path(found["directory"])
    stop_dockerd(directory)
    subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True, check=False)
    for table in TABLES:
        restore_table(table, found["tables"][table])
    for path, value in found["sysctls"].items():
        Path(path).write_text(value + "\n")
    _unmount_under(directory)
    shutil.rmtree(directory, ignore_errors=True)
    RECORD.unlink()


def restore_table(table: str, before: list[str]) -> None:
    """Delete the rules and chains added since `before`, and set its policies back.

    The sandbox's own rules stay where they are in the built-in chains; a chain that did not
    exist before (DOCKER-USER) goes with everything in it.
    """
    now = listing(table)
    old_chains = {line.split()[1] for line in before if line.startswith("-N ")}
    new_chains = [line.split()[1] for line in now if line.startswith("-N ")
                  and line.split()[1] not in old_chains]
    extra = Counter(line for line in now if line.startswith("-A ")) - \
        Counter(line for line in before if line.startswith("-A "))
    for line in reversed(now):
        words = shlex.split(line)
        if extra[line] > 0 and words[1] not in new_chains and MARK not in line:
            iptables("-t", table, "-D", *words[1:])
            extra[line] -= 1
    for chain in new_chains:
        iptables("-t", table, "-F", chain)
    for chain in new_chains:
        iptables("-t", table, "-X", chain)
    for line in before:
        if line.startswith("-P "):
            iptables("-t", table, *shlex.split(line))


def _processes_using(directory: Path) -> list[int]:
    needle = str(directory).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _unmount_under(directory: Path) -> None:
    prefix = str(directory) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
