"""Act on one running host from outside: run a command in it, take docker away, give it back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from kdeploy.sandbox import hosts
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.info import SandboxHost
from kdeploy.sandbox.layout import default_layout
from kdeploy.sandbox.procs import docker_ping, stop_pids, wait_until
from kdeploy.sandbox.state import load_state, save_state

# Where a docker client may live on a host (the machine's own filesystem, seen by every host).
DOCKER_CLIENTS = ("/usr/local/bin/docker", "/usr/bin/docker")


def run_on_host(host: SandboxHost, argv: list[str], timeout: float = 60
                ) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside `host`'s namespaces (its /run, /root, hostname and network).

    Returns:
        The finished process, output captured as text; check `returncode` yourself.
    """
    host = current(host)
    if not host.sshd_alive:
        raise SandboxError(f"{host.name} is not running (its sshd is gone)")
    return hosts.run_in_host(host.sshd_pid or 0, argv, timeout=timeout)


def current(host: SandboxHost) -> SandboxHost:
    """`host` with the pids the state file holds now (the sandbox may have been rebuilt)."""
    if host.sshd_alive and host.dockerd_alive:
        return host
    state = load_state(_state_path(host))
    for member in state.hosts if state else []:
        if member.name == host.name:
            return SandboxHost(host.name, member.address, host.directory, member.sshd_pid,
                               member.dockerd_pid)
    return host


def disable_docker(host: SandboxHost) -> None:
    """Make docker unavailable on `host`: stop its dockerd, hide the client (/dev/null over it).

    The mounts live only in the host's mount namespace; the machine keeps its docker.
    """
    host = current(host)
    if host.dockerd_alive:
        stop_pids([host.dockerd_pid or 0], grace=10)
    for client in _clients():
        result = run_on_host(host, ["mount", "--bind", "/dev/null", client])
        if result.returncode != 0:
            raise SandboxError(f"hiding {client} on {host.name} failed: {result.stderr.strip()}")


def restore_docker(host: SandboxHost) -> SandboxHost:
    """Undo `disable_docker`: unhide the client and restart the host's dockerd.

    Returns:
        The host with its new dockerd pid (also written to the state file).
    """
    host = current(host)
    for client in _clients():
        # Repeat until no /dev/null mount is left (disable may have run twice).
        while run_on_host(host, ["umount", client]).returncode == 0:
            pass
    if not host.dockerd_alive:
        hosts.start_dockerd(host.directory, host.sshd_pid or 0)
        wait_until(lambda: docker_ping(hosts.docker_socket(host.directory)), 60,
                   f"dockerd of {host.name}")
    pid = hosts.dockerd_pid(host.directory)
    _record_dockerd_pid(host, pid)
    return SandboxHost(host.name, host.address, host.directory, host.sshd_pid, pid)


def _clients() -> list[str]:
    found = {c for c in DOCKER_CLIENTS if os.path.exists(c)}
    which = shutil.which("docker")
    return sorted(found | ({which} if which else set()))


def _state_path(host: SandboxHost) -> Path:
    # Host directories are <root>/hosts/<name>; the state file sits in <root>.
    return host.directory.parent.parent / default_layout().state_file.name


def _record_dockerd_pid(host: SandboxHost, pid: int | None) -> None:
    name = host.name
    path = _state_path(host)
    state = load_state(path)
    if state is None:
        return
    for member in state.hosts:
        if member.name == name:
            member.dockerd_pid = pid
    save_state(path, state)
