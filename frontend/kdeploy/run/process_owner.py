"""Own every process a command starts, and turn SIGINT, SIGTERM and SIGHUP into a clean stop.

ansible-playbook's workers call `setsid()`, and ssh's ControlPersist masters daemonize, so
neither signals to a process group nor ansible-runner's cancel reach them: after kdeploy exited
they would go on changing hosts. The owner makes kdeploy a child subreaper (Linux), so every
process it starts, however detached, stays its descendant; a stop then freezes and kills the
whole tree. The ssh masters live in a control directory of this command alone: they are kept
through a stop (the settle step reaches the hosts through them, see `plan/settle.py`) and closed
at exit, so nothing kdeploy started outlives it.

A signal outside an Ansible run raises `SignalReceived` (local work such as a build or a hook
unwinds); inside a run, or while cleaning up, it is only recorded and the run stops at its next
cancel check. A second signal never skips the cleanup.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

import psutil

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_CHILD_SUBREAPER = 36


class SignalReceived(BaseException):
    """A stop signal arrived while no Ansible run was active; unwinds to the command's top."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ProcessOwner:
    """The processes of one kdeploy command: its signals, its Ansible runs, its ssh masters.

    Also what the command's warm-ups learned, which every run of the command reuses: the hosts
    warmed, and the fact cache holding their Pythons.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0  # signals received; a second one skips the per-host report
        self.control_dir: Path | None = None
        self.warmed: set[str] = set()  # hosts whose connection a warm-up opened (run/warm_up.py)
        # The command's fact cache: the Pythons the warm-ups found (run/interpreter_facts.py).
        self.facts_dir: Path | None = None
        self._deferring = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> ProcessOwner:
        _become_subreaper()
        self.control_dir = Path(tempfile.mkdtemp(prefix="kdeploy-ssh-"))
        self.facts_dir = Path(tempfile.mkdtemp(prefix="kdeploy-facts-"))
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        with self.deferring():
            self.stop(keep_masters=False)
            for directory in (self.control_dir, self.facts_dir):
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    @property
    def interrupted(self) -> bool:
        """True once a stop signal arrived."""
        return self.signum is not None

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Record signals instead of raising them (an Ansible run, a cleanup)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.count += 1
        if self.signum is None:
            self.signum = signum
        if not self._deferring and self.count == 1:
            raise SignalReceived(signum)

    def stop(self, keep_masters: bool = True) -> list[psutil.Process]:
        """Stop every process this command started and return the ones that were running.

        Each round freezes (SIGSTOP) what it finds, so no process forks or starts another task
        while the tree is walked, then kills the frozen ones; it ends when a round finds nothing.

        Args:
            keep_masters: spare the ssh masters of `control_dir` (the settle step reuses them);
                without it they are asked to exit first, which closes their connections.
        """
        stopped: list[psutil.Process] = []
        if not keep_masters:
            stopped += self._close_masters()
        while True:
            found = [process for process in _descendants()
                     if not (keep_masters and self._is_master(process))]
            if not found:
                break
            _signal_all(found, signal.SIGSTOP)
            _signal_all(found, signal.SIGKILL)
            stopped += found
            # Not psutil.wait_procs: it would reap ansible-playbook, which pexpect waits for.
            wait_until_gone(found, timeout=2)
        if not keep_masters:
            _reap_orphans()
        return stopped

    def _close_masters(self) -> list[psutil.Process]:
        masters = [process for process in _descendants() if self._is_master(process)]
        _signal_all(masters, signal.SIGTERM)  # ssh closes its connection and exits
        # Each master is ours to reap (a daemon re-parented to this subreaper, which nobody
        # else waits for): wait_procs returns as each one exits, where polling sleeps first.
        psutil.wait_procs(masters, timeout=2)
        return masters

    def _is_master(self, process: psutil.Process) -> bool:
        # A ControlPersist master names itself `ssh: <control path> [mux]`.
        try:
            title = " ".join(process.cmdline())
        except psutil.Error:
            return False
        return (self.control_dir is not None and title.startswith(f"ssh: {self.control_dir}/")
                and "[mux]" in title)


_active: ProcessOwner | None = None


@contextmanager
def owning_processes() -> Iterator[ProcessOwner]:
    """The command's ProcessOwner: the active one, or a new one for as long as this lasts."""
    global _active
    if _active is not None:
        yield _active
        return
    with ProcessOwner() as owner:
        _active = owner
        try:
            yield owner
        finally:
            _active = None


def active_owner() -> ProcessOwner | None:
    """The ProcessOwner of the running command, if one is active."""
    return _active


def _become_subreaper() -> None:
    # Orphans of our descendants (setsid'd workers, daemonized ssh masters) are re-parented to
    # us instead of init, so the tree stays walkable. Linux only; elsewhere the tree is what
    # `children(recursive=True)` still sees, which misses processes already orphaned.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _descendants() -> list[psutil.Process]:
    try:
        return [process for process in psutil.Process().children(recursive=True)
                if process.status() != psutil.STATUS_ZOMBIE]
    except psutil.Error:
        return []


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        with suppress(psutil.Error):
            process.send_signal(signum)


def _reap_orphans() -> None:
    # Zombies whose parent is us and that nobody waits for: orphans re-parented to the
    # subreaper. Only at the end: pexpect and subprocess reap their own children first.
    for process in psutil.Process().children():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(process.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


def wait_until_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to `timeout` seconds for processes to end; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = list(processes)
    while alive and time.monotonic() < deadline:
        alive = [process for process in alive if _alive(process)]
        if alive:
            time.sleep(0.05)
    return alive


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
