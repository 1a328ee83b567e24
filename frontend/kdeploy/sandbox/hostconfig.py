"""Pure builders of a host's files: sshd_config, the boot script and the dockerd command."""

from __future__ import annotations

import shlex
from pathlib import Path

from kdeploy.sandbox.cgroups import containers_parent


def sshd_config(address: str, host_dir: Path) -> str:
    """An sshd_config for one host: its own address, host key and pid file, keys only."""
    return "\n".join([
        f"ListenAddress {address}",
        f"HostKey {host_dir / 'etc' / 'ssh_host_ed25519_key'}",
        # /run is the host's own bind-mounted directory, so this is per host.
        "PidFile /run/sshd.pid",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AuthorizedKeysFile .ssh/authorized_keys",
        # The bind-mounted /root belongs to the sandbox dir, whose modes sshd would reject.
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        # Ansible and Kamal open many sessions at once; defaults (10:30:100) drop some.
        "MaxStartups 200:30:400",
        "MaxSessions 100",
        "Subsystem sftp internal-sftp",
        "",
    ])


def dockerd_argv(name: str, host_dir: Path, registry: str) -> list[str]:
    """The dockerd command of one host (run inside its namespaces, /run already bound)."""
    return [
        "dockerd",
        "--data-root", str(host_dir / "docker"),
        "--exec-root", "/run/docker",
        "--pidfile", "/run/docker.pid",
        "--host", "unix:///run/docker.sock",
        "--config-file", str(host_dir / "etc" / "daemon.json"),
        "--insecure-registry", registry,
        # Lets configs name Docker Hub images (caddy:2) served by the sandbox registry.
        "--registry-mirror", f"http://{registry}",
        "--cgroup-parent", containers_parent(name),
        "--log-level", "warn",
    ]


def dockerd_script(name: str, host_dir: Path, registry: str, cgroup: Path | None) -> str:
    """Shell that joins the host's cgroup and execs dockerd (used at boot and on restore)."""
    lines = ["#!/bin/sh", "# Starts this sandbox host's dockerd; run inside the host's namespaces."]
    if cgroup is not None:
        lines.append(f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))}")
    log = host_dir / "log" / "dockerd.log"
    lines.append(f"exec {shlex.join(dockerd_argv(name, host_dir, registry))} "
                 f">>{shlex.quote(str(log))} 2>&1")
    return "\n".join(lines) + "\n"


def boot_script(name: str, host_dir: Path, sshd: str, cgroup: Path | None) -> str:
    """Shell run in the host's new mount/UTS namespaces: bind mounts, dockerd, then sshd.

    A shell is needed because the mounts must happen inside the new mount namespace, before
    the daemons start; it ends by exec'ing sshd, so its pid is sshd's.
    """
    q = shlex.quote
    lines = ["#!/bin/sh", "set -e"]
    if cgroup is not None:
        lines.append(f"echo $$ > {q(str(cgroup / 'cgroup.procs'))}")
    lines += [
        f"mount --bind {q(str(host_dir / 'run'))} /run",
        f"mount --bind {q(str(host_dir / 'root'))} /root",
        f"hostname {q(name)}",
        f"sh {q(str(host_dir / 'dockerd.sh'))} </dev/null &",
        f"exec {q(sshd)} -D -f {q(str(host_dir / 'etc' / 'sshd_config'))} "
        f"-E {q(str(host_dir / 'log' / 'sshd.log'))}",
    ]
    return "\n".join(lines) + "\n"
