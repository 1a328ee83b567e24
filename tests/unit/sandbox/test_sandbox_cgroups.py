"""Counting a sandbox host's processes while its containers' cgroups come and go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdeploy.sandbox import cgroups


def _cgroup(path: Path, *pids: int) -> Path:
    path.mkdir(parents=True)
    (path / "cgroup.procs").write_text("".join(f"{pid}\n" for pid in pids))
    return path


def test_every_pid_of_the_tree_is_counted(tmp_path: Path) -> None:
    host = _cgroup(tmp_path / "kd-host1", 10)
    _cgroup(host / "containers" / "abc", 11, 12)
    _cgroup(host / "dockerd", 13)
    assert sorted(cgroups.pids_in(host)) == [10, 11, 12, 13]


def test_a_cgroup_removed_during_the_walk_is_skipped(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A container's dockerd removes its cgroup as it dies: listed by its parent, gone when the
    # walk gets to it (a sandbox teardown failed with FileNotFoundError there).
    host = _cgroup(tmp_path / "kd-host1", 10)
    gone = _cgroup(host / "containers" / "851f7da8", 11)
    _cgroup(host / "dockerd", 13)
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str] | str = ".") -> object:
        if Path(path) == gone:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert sorted(cgroups.pids_in(host)) == [10, 13]
