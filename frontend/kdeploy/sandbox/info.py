"""What the tests and the CLI get back from the sandbox: hosts, registry, key, example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kdeploy.sandbox.procs import pid_alive
from kdeploy.sandbox.state import SandboxState

SSH_OPTIONS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
               "-o", "IdentitiesOnly=yes")


@dataclass(frozen=True)
class SandboxHost:
    """One running sandbox host."""

    name: str
    address: str
    directory: Path
    sshd_pid: int | None
    dockerd_pid: int | None

    @property
    def sshd_alive(self) -> bool:
        """True when the host's sshd runs."""
        return pid_alive(self.sshd_pid, "sshd")

    @property
    def dockerd_alive(self) -> bool:
        """True when the host's dockerd runs."""
        return pid_alive(self.dockerd_pid, "dockerd")


@dataclass(frozen=True)
class SandboxInfo:
    """A sandbox as built by `up`: everything needed to deploy to it or inspect it."""

    root: Path
    hosts: tuple[SandboxHost, ...]
    registry: str
    key_path: Path
    example_dir: Path
    subnet: str
    phase: str
    registry_pid: int | None = None
    # What on the machine drops traffic between the hosts (filled in by `status`).
    warnings: tuple[str, ...] = ()

    @property
    def registry_alive(self) -> bool:
        """True when the registry process runs."""
        return pid_alive(self.registry_pid, "docker-registry")

    @property
    def healthy(self) -> bool:
        """True when built completely and every daemon runs."""
        return (self.phase == "ready" and self.registry_alive and
                all(h.sshd_alive and h.dockerd_alive for h in self.hosts))

    def host(self, name_or_index: str | int) -> SandboxHost:
        """A host by name (`kd-host1`), address, or 1-based index."""
        if isinstance(name_or_index, int):
            return self.hosts[name_or_index - 1]
        for host in self.hosts:
            if name_or_index in (host.name, host.address):
                return host
        raise KeyError(name_or_index)

    def ssh_command(self, host: str | int | SandboxHost, command: str | list[str]) -> list[str]:
        """The argv that runs `command` on `host` as root over SSH with the sandbox key."""
        target = host if isinstance(host, SandboxHost) else self.host(host)
        remote = command if isinstance(command, str) else " ".join(command)
        return ["ssh", "-i", str(self.key_path), *SSH_OPTIONS, f"root@{target.address}", remote]

    def to_dict(self) -> dict:
        """A JSON-ready summary, as `sandbox status --json` prints it."""
        return {
            "running": True, "root": str(self.root), "phase": self.phase,
            "healthy": self.healthy,
            "subnet": self.subnet, "registry": self.registry,
            "registry_alive": self.registry_alive, "key_path": str(self.key_path),
            "example_dir": str(self.example_dir),
            "hosts": [{"name": h.name, "address": h.address, "sshd_pid": h.sshd_pid,
                       "sshd_alive": h.sshd_alive, "dockerd_pid": h.dockerd_pid,
                       "dockerd_alive": h.dockerd_alive} for h in self.hosts],
            "warnings": list(self.warnings),
        }


def info_from_state(root: Path, state: SandboxState) -> SandboxInfo:
    """Build the SandboxInfo view of a state file."""
    hosts = tuple(SandboxHost(h.name, h.address, root / "hosts" / h.name, h.sshd_pid,
                              h.dockerd_pid) for h in state.hosts)
    return SandboxInfo(root=root, hosts=hosts, registry=state.registry,
                       key_path=Path(state.key_path), example_dir=Path(state.example_dir),
                       subnet=state.subnet, phase=state.phase, registry_pid=state.registry_pid)
