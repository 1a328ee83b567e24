"""Can this machine run the sandbox? One clear message naming the apt packages if not."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from kdeploy.sandbox.errors import SandboxUnavailable

# Each command the sandbox runs, and the Debian package that ships it.
REQUIRED_COMMANDS: dict[str, str] = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "mount": "mount",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "docker-registry": "docker-registry",
    "busybox": "busybox-static",
}
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Findings:
    """What the machine lacks; empty lists mean it can run the sandbox."""

    problems: list[str]
    packages: list[str]

    @property
    def ok(self) -> bool:
        """True when nothing is missing."""
        return not self.problems and not self.packages


def find_command(name: str) -> str | None:
    """Full path of `name`, searching the sbin directories too (root's PATH may lack them)."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SEARCH_PATH}")


def is_static_elf(path: str) -> bool:
    """True when `path` is an ELF file without a program interpreter (statically linked)."""
    with open(path, "rb") as file:
        data = file.read(4096)
    if data[:4] != b"\x7fELF" or data[4] != 2:  # only 64-bit ELF is expected here
        return False
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    for index in range(phnum):
        start = phoff + index * phentsize
        if int.from_bytes(data[start:start + 4], "little") == 3:  # PT_INTERP
            return False
    return True


def inspect_machine() -> Findings:
    """Check OS, user and commands without raising."""
    problems: list[str] = []
    if platform.system() != "Linux":
        problems.append(f"the sandbox needs Linux (this is {platform.system()})")
    elif os.geteuid() != 0:
        problems.append("the sandbox needs root (namespaces, bridges, dockerd): run it with sudo")
    packages = {pkg for cmd, pkg in REQUIRED_COMMANDS.items() if find_command(cmd) is None}
    busybox = find_command("busybox")
    if busybox and not is_static_elf(busybox):
        packages.add("busybox-static")
    if platform.system() == "Linux" and not Path("/sys/fs/cgroup").is_dir():
        problems.append("the sandbox needs cgroups mounted at /sys/fs/cgroup")
    return Findings(problems=problems, packages=sorted(packages))


def describe(findings: Findings) -> str:
    """The one message shown when the sandbox cannot run here."""
    parts = list(findings.problems)
    if findings.packages:
        parts.append(f"missing packages: install them with `apt-get install "
                     f"{' '.join(findings.packages)}`")
    return "kdeploy sandbox cannot run on this machine: " + "; ".join(parts)


def check_machine() -> None:
    """Raise SandboxUnavailable (exit 2) unless this machine can run the sandbox.

    Raises:
        SandboxUnavailable: not Linux, not root, or commands missing (names the apt packages).
    """
    findings = inspect_machine()
    if not findings.ok:
        raise SandboxUnavailable(describe(findings))
