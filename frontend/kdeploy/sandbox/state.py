"""The sandbox's `state.json`: what was created, so `status`, `down` and `up` can find it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Written before anything is created, so a crash mid-build leaves a state that names the
# leftovers; set to READY only once every host answers.
BUILDING = "building"
READY = "ready"


@dataclass
class HostState:
    """One sandbox host: its name (netns and hostname), address and daemon pids."""

    name: str
    address: str
    veth: str
    sshd_pid: int | None = None
    dockerd_pid: int | None = None


@dataclass
class SandboxState:
    """Everything one `sandbox up` created."""

    phase: str
    subnet: str
    bridge: str
    registry: str
    key_path: str
    example_dir: str
    hosts: list[HostState] = field(default_factory=list)
    registry_pid: int | None = None

    def to_json(self) -> str:
        """Serialise to the JSON stored in `state.json`."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        """Parse `state.json` text (raises ValueError/KeyError/TypeError when malformed)."""
        data = json.loads(text)
        hosts = [HostState(**host) for host in data.pop("hosts", [])]
        return cls(hosts=hosts, **data)


def load_state(path: Path) -> SandboxState | None:
    """Read the state file; None when it is missing or unreadable (a crash mid-write)."""
    try:
        return SandboxState.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_state(path: Path, state: SandboxState) -> None:
    """Write the state file atomically, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)
