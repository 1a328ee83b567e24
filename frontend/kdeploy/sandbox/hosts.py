"""One sandbox host: its files, its daemons (sshd + dockerd) and commands run inside it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kdeploy.sandbox import cgroups, hostconfig
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.preflight import find_command
from kdeploy.sandbox.procs import docker_ping, read_pid, spawn, tcp_open, wait_until

READY_TIMEOUT = 60.0


def prepare_host(host_dir: Path, name: str, address: str, registry: str, pubkey: str,
                 key_cache: Path) -> None:
    """Write one host's directories, host key, authorized_keys, sshd_config and scripts."""
    for sub in ("run/sshd", "root/.ssh", "docker", "etc", "log"):
        (host_dir / sub).mkdir(parents=True, exist_ok=True)
    (host_dir / "root").chmod(0o700)
    keys = host_dir / "root" / ".ssh" / "authorized_keys"
    keys.write_text(pubkey)
    keys.chmod(0o600)
    etc = host_dir / "etc"
    _install_host_key(key_cache / f"{name}_ed25519_key", host_key_file(host_dir), name)
    (etc / "sshd_config").write_text(hostconfig.sshd_config(address, host_dir))
    (etc / "daemon.json").write_text("{}\n")
    cgroup = cgroups.daemons_cgroup(name)
    (host_dir / "dockerd.sh").write_text(
        hostconfig.dockerd_script(name, host_dir, registry, cgroup))
    sshd = find_command("sshd") or "/usr/sbin/sshd"
    (host_dir / "boot.sh").write_text(hostconfig.boot_script(name, host_dir, sshd, cgroup))


def host_key_file(host_dir: Path) -> Path:
    """The host's sshd host key (private; `ssh-keygen -y` gives what clients see)."""
    return host_dir / "etc" / "ssh_host_ed25519_key"


def _install_host_key(cached: Path, target: Path, name: str) -> None:
    # The same host keeps its host key across rebuilds: clients that remember it (Kamal reads
    # ~/.ssh/known_hosts and refuses a changed key) keep working after `down` and `up`.
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                        "-f", str(cached)], check=True, capture_output=True)
    shutil.copyfile(cached, target)
    target.chmod(0o600)


def start_host(host_dir: Path, name: str) -> subprocess.Popen[bytes]:
    """Start the host: new mount and UTS namespaces inside its netns, running boot.sh.

    `ip netns exec` is avoided on purpose: it remounts /sys, which hides the cgroup mounts
    dockerd needs. The returned process becomes sshd (boot.sh ends with exec).
    """
    argv = ["unshare", "--mount", "--uts", "--propagation", "private",
            "nsenter", f"--net=/run/netns/{name}", "sh", str(host_dir / "boot.sh")]
    return spawn(argv, host_dir / "log" / "boot.log")


def docker_socket(host_dir: Path) -> Path:
    """The host's docker socket, seen from outside (its /run is `<host_dir>/run`)."""
    return host_dir / "run" / "docker.sock"


def dockerd_pid(host_dir: Path) -> int | None:
    """The pid of the host's dockerd from its pid file."""
    return read_pid(host_dir / "run" / "docker.pid")


def wait_host_ready(host_dir: Path, name: str, address: str,
                    boot: subprocess.Popen[bytes]) -> None:
    """Wait until the host's sshd accepts connections and its dockerd answers /_ping."""

    def ready() -> bool:
        if boot.poll() is not None:
            log = (host_dir / "log" / "sshd.log", host_dir / "log" / "boot.log")
            tail = " ".join(p.read_text()[-300:] for p in log if p.exists()).strip()
            raise SandboxError(f"sshd of {name} exited ({boot.returncode}): {tail}")
        return tcp_open(address, 22) and docker_ping(docker_socket(host_dir))

    wait_until(ready, READY_TIMEOUT, f"sshd and dockerd of {name} ({address})")


def nsenter_argv(sshd_pid: int, argv: list[str]) -> list[str]:
    """Prefix `argv` so it runs in the mount, UTS and network namespaces of a host's sshd."""
    return ["nsenter", "-t", str(sshd_pid), "-m", "-u", "-n", "--", *argv]


def run_in_host(sshd_pid: int, argv: list[str], **kwargs: object
                ) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside a host (as its SSH sessions see it) and capture its output."""
    return subprocess.run(nsenter_argv(sshd_pid, argv), capture_output=True, text=True,
                          check=False, **kwargs)


def start_dockerd(host_dir: Path, sshd_pid: int) -> subprocess.Popen[bytes]:
    """(Re)start a host's dockerd inside its namespaces, joining its cgroup."""
    return spawn(nsenter_argv(sshd_pid, ["sh", str(host_dir / "dockerd.sh")]),
                 host_dir / "log" / "boot.log")
