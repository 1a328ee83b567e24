"""state.json round-trips; a broken file reads as no state (a crash mid-write)."""

from __future__ import annotations

from pathlib import Path

from kdeploy.sandbox.info import info_from_state
from kdeploy.sandbox.state import HostState, SandboxState, load_state, save_state


def sample() -> SandboxState:
    return SandboxState(phase="ready", subnet="10.213.7.0/24", bridge="kdsandbox0",
                        registry="10.213.7.1:5000", key_path="/k", example_dir="/e",
                        hosts=[HostState("kd-host1", "10.213.7.11", "kdveth1", 11, 12)],
                        registry_pid=10)


def test_round_trip(tmp_path: Path) -> None:
    save_state(tmp_path / "state.json", sample())
    assert load_state(tmp_path / "state.json") == sample()


def test_missing_or_broken_is_none(tmp_path: Path) -> None:
    assert load_state(tmp_path / "state.json") is None
    (tmp_path / "state.json").write_text('{"phase": ')
    assert load_state(tmp_path / "state.json") is None


def test_info_with_dead_pids_is_not_healthy(tmp_path: Path) -> None:
    info = info_from_state(tmp_path, sample())
    assert info.host(1).name == "kd-host1" and info.host("10.213.7.11").name == "kd-host1"
    assert not info.healthy
    argv = info.ssh_command(1, "docker ps")
    assert argv[0] == "ssh" and argv[-2:] == ["root@10.213.7.11", "docker ps"]
    assert argv[1:3] == ["-i", "/k"]


def test_machine_lock_is_reentrant_across_calls(tmp_path: Path) -> None:
    from kdeploy.sandbox.lock import machine_lock

    with machine_lock(tmp_path / "lock"):
        pass
    with machine_lock(tmp_path / "lock"):
        assert (tmp_path / "lock").exists()
