"""One cgroup per host holds its sshd, dockerd and containers, so `down` can kill them all."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from kdeploy.sandbox.layout import CGROUP_NAME
from kdeploy.sandbox.procs import kill_pids

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchy() -> Path | None:
    """The hierarchy used to track processes: v1 `pids` or the v2 unified root."""
    for candidate in (CGROUP_ROOT / "pids", CGROUP_ROOT):
        if (candidate / "cgroup.procs").exists():
            return candidate
    return None


def daemons_cgroup(host: str) -> Path | None:
    """The cgroup a host's daemons join (created), or None without a usable hierarchy."""
    base = hierarchy()
    if base is None:
        return None
    # Daemons and containers sit in sibling leaves: cgroup v2 forbids processes in inner nodes.
    path = base / CGROUP_NAME / host / "daemons"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def containers_parent(host: str) -> str:
    """`--cgroup-parent` for a host's dockerd: its containers land in the host's subtree."""
    return f"/{CGROUP_NAME}/{host}/containers"


def pids_in(path: Path) -> list[int]:
    """Every pid in the cgroup `path` and below."""
    pids: list[int] = []
    # os.walk, not Path.rglob: a container's cgroup can go away while the tree is walked (its
    # dockerd removes it as the container dies), and os.walk skips a directory it cannot list.
    for directory, _dirs, files in os.walk(path):
        if "cgroup.procs" not in files:
            continue
        try:
            pids += [int(line) for line in (Path(directory) / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            continue
    return pids


def kill_subtree(name: str | None = None, timeout: float = 5.0) -> None:
    """SIGKILL every process under the sandbox cgroup (or one host's), then remove the dirs."""
    base = hierarchy()
    if base is None:
        return
    top = base / CGROUP_NAME / name if name else base / CGROUP_NAME
    deadline = time.monotonic() + timeout
    while top.exists() and (pids := pids_in(top)) and time.monotonic() < deadline:
        kill_pids(pids)
        time.sleep(0.02)
    remove_dirs(name)


def remove_dirs(name: str | None = None) -> None:
    """Remove the sandbox's cgroup directories (deepest first) in every mounted hierarchy."""
    for controller in [CGROUP_ROOT, *CGROUP_ROOT.iterdir()] if CGROUP_ROOT.exists() else []:
        top = controller / CGROUP_NAME / name if name else controller / CGROUP_NAME
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):  # busy or already gone: nothing to do
                os.rmdir(dirpath)
