"""ProcessOwner with real processes: a tree that detaches itself is still stopped whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from kdeploy.run.process_owner import ProcessOwner, SignalReceived, owning_processes

# Like an Ansible worker: setsid, then a child that forks a daemon (like ssh's ControlPersist)
# and exits, so the daemon is orphaned; every process records its pid in the directory.
DETACHING = r"""
import os, sys, time
directory = sys.argv[1]
def mark(name):
    with open(os.path.join(directory, name), "w") as handle:
        handle.write(str(os.getpid()))
os.setsid()
mark("worker")
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        mark("daemon")
        time.sleep(300)
    os._exit(0)
time.sleep(300)
"""


def _started(directory: Path, names: tuple[str, ...]) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all((directory / name).exists() and (directory / name).read_text() for name in names):
            return {name: int((directory / name).read_text()) for name in names}
        time.sleep(0.02)
    raise AssertionError(f"not started: {names}")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_stop_ends_setsid_workers_and_orphaned_daemons(tmp_path: Path) -> None:
    with ProcessOwner() as owner:
        starter = subprocess.Popen([sys.executable, "-c", DETACHING, str(tmp_path)])
        pids = _started(tmp_path, ("worker", "daemon"))
        # The daemon's parent exited: the subreaper (this process) adopted it.
        assert psutil.Process(pids["daemon"]).ppid() == os.getpid()
        stopped = {process.pid for process in owner.stop()}
        assert set(pids.values()) <= stopped
        starter.wait(timeout=5)
    assert not any(_alive(pid) for pid in pids.values())


def test_ssh_masters_of_the_command_survive_a_stop_and_end_at_exit(tmp_path: Path) -> None:
    with ProcessOwner() as owner:
        title = f"ssh: {owner.control_dir}/abc [mux]"
        master = subprocess.Popen(["bash", "-c", f'exec -a "{title}" sleep 300'])
        other = subprocess.Popen(["sleep", "300"])
        deadline = time.monotonic() + 5
        # Until bash has exec'd, its own command line holds the title too: wait for argv[0].
        while psutil.Process(master.pid).cmdline()[:1] != [title]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        owner.stop(keep_masters=True)
        assert other.wait(timeout=5) == -signal.SIGKILL
        assert _alive(master.pid)
    assert not _alive(master.pid)
    assert not owner.control_dir.exists()  # type: ignore[union-attr]


def test_the_commands_fact_cache_lasts_as_long_as_the_command() -> None:
    # Where the warm-ups keep the hosts' Pythons (run/interpreter_facts.py), for every run.
    with ProcessOwner() as owner:
        assert owner.facts_dir is not None and owner.facts_dir.is_dir()
        (owner.facts_dir / "s1_host").write_text("{}")
        assert owner.facts_dir.stat().st_mode & 0o077 == 0
    assert not owner.facts_dir.exists()


def test_a_signal_outside_a_run_unwinds_and_inside_one_is_only_recorded() -> None:
    with ProcessOwner() as owner:
        with owner.deferring():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert owner.signum == signal.SIGTERM and owner.count == 1
    with pytest.raises(SignalReceived) as raised, ProcessOwner():
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(1)
    assert raised.value.signum == signal.SIGHUP


def test_a_second_signal_while_unwinding_does_not_raise_again() -> None:
    with pytest.raises(SignalReceived), ProcessOwner() as owner:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C during the cleanup
            time.sleep(0.05)
    assert owner.count == 2 and owner.signum == signal.SIGINT


def test_the_previous_handlers_come_back_and_owners_nest() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with owning_processes() as outer, owning_processes() as inner:
        assert inner is outer
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before
