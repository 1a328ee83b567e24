"""Act on one running host from outside: run a command in it, stop or take docker away, restore."""

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

# Where docker's programs may live on a host (the machine's own filesystem, seen by every host):
# the clients and the daemon.
DOCKER_PROGRAMS = ("/usr/local/bin/docker", "/usr/bin/docker", "/usr/sbin/dockerd",
                   "/usr/bin/dockerd")


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


def stop_docker(host: SandboxHost) -> None:
    """Stop `host`'s dockerd and leave Docker installed, as `systemctl stop docker` would."""
    host = current(host)
    if host.dockerd_alive:
        stop_pids([host.dockerd_pid or 0], grace=10)


def disable_docker(host: SandboxHost) -> None:
    """Make docker missing on `host`: stop its dockerd, hide its programs (/dev/null over them).

    The mounts live only in the host's mount namespace; the machine keeps its docker.
    """
    stop_docker(host)
    host = current(host)
    for client in _programs():
        result = run_on_host(host, ["mount", "--bind", "/dev/null", client])
        if result.returncode != 0:
            raise SandboxError(f"hiding {client} on {host.name} failed: {result.stderr.strip()}")


def restore_docker(host: SandboxHost) -> SandboxHost:
    """Undo `disable_docker` or `stop_docker`: unhide the programs and restart the dockerd.

    Returns:
        The host with its new dockerd pid (also written to the state file).
    """
    host = current(host)
    for client in _programs():
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


def _programs() -> list[str]:
    found = {program for program in DOCKER_PROGRAMS if os.path.exists(program)}
    which = {shutil.which(name) for name in ("docker", "dockerd")}
    return sorted(found | {os.path.realpath(path) for path in which if path})


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
