"""The role barrier's signal files (plugins/module_utils/barrier_signal.py) and the action plugin's
second session (plugins/action/release.py): the host side, the shell commands run by a real
`sh`, and the thread that sends them. The e2e tests run both against the sandbox.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible_collections.kdeploy.deploy.plugins.action import release as action
from playbook_support import load_module_utils

signal = load_module_utils("barrier_signal")

PATH = signal.signal_path("ansible-local-123abc", "go", "10.0.0.3")


def _sh(command: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], env={"HOME": str(home), "PATH": os.defpath},
                          capture_output=True, text=True, timeout=30, check=False)


def test_a_signal_is_named_by_run_kind_and_host_in_shell_safe_characters() -> None:
    path = signal.signal_path("ansible-local-1 $(x)", "ready", "web'1")
    directory, name = path.rsplit("/", 1)
    assert directory == ".kdeploy/barrier"
    assert name.startswith("ansible-local-1___x_-ready-")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    assert path != signal.signal_path("ansible-local-1 $(x)", "ready", "web'2")
    assert path != signal.signal_path("ansible-local-1 $(x)", "go", "web'1")


def test_the_controllers_command_writes_what_the_module_waits_for(tmp_path: Path) -> None:
    assert _sh(signal.send_command(PATH, signal.OPEN), tmp_path).returncode == 0
    file = tmp_path / PATH
    assert oct(file.parent.stat().st_mode & 0o777) == "0o700"
    slept: list[float] = []
    assert signal.await_signal(str(file), slept.append, limit=5) == signal.OPEN
    assert slept == [] and not file.exists()  # read once, then gone


def test_the_controllers_watch_reads_what_the_module_writes(tmp_path: Path) -> None:
    file = tmp_path / PATH
    writer = threading.Timer(0.3, signal.write_signal, (str(file), signal.OPEN))
    writer.start()
    watched = _sh(signal.watch_command(PATH, 20), tmp_path)
    writer.join()
    assert watched.stdout.startswith(".") and watched.stdout.endswith(signal.OPEN)
    assert signal.watched_state(watched.stdout.encode()) == signal.OPEN
    assert not file.exists() and not Path(f"{file}.part").exists()


def test_the_watch_ends_with_no_state_once_its_limit_is_reached(tmp_path: Path) -> None:
    watched = _sh(signal.watch_command(PATH, 0.1), tmp_path)
    assert watched.returncode == 0 and signal.watched_state(watched.stdout.encode()) is None


def test_a_watch_dies_with_its_session(tmp_path: Path) -> None:
    # kdeploy killed: sshd closes the session's pipe, and the watch's next dot kills it
    # (SIGPIPE), long before its limit.
    watch = subprocess.Popen(["sh", "-c", signal.watch_command(PATH, 600)],
                             env={"HOME": str(tmp_path), "PATH": os.defpath},
                             stdout=subprocess.PIPE)
    assert watch.stdout is not None
    assert watch.stdout.read(1) == b"."
    watch.stdout.close()
    assert watch.wait(timeout=10) != 0


@pytest.mark.parametrize(("output", "state"), [
    (b"open", "open"), (b"....closed\n", "closed"), (b"...", None), (b"", None),
    (b"..op", None)])
def test_a_watchs_output_is_read_past_its_dots(output: bytes, state: str | None) -> None:
    assert signal.watched_state(output) == state


def test_a_wait_sleeps_until_the_signal_and_runs_out_without_one(tmp_path: Path) -> None:
    file = tmp_path / PATH
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            signal.write_signal(str(file), signal.CLOSED)

    assert signal.await_signal(str(file), sleep, limit=60) == signal.CLOSED
    assert slept == [signal.POLL_SECONDS] * 3
    # Without one: None once the clock passes the limit, and the file that never came is no error.
    clock = iter([0.0, 1.0, 2.0, 3.5]).__next__
    assert signal.await_signal(str(file), lambda s: None, limit=3, clock=clock) is None


def test_a_half_written_signal_is_not_read(tmp_path: Path) -> None:
    file = tmp_path / PATH
    file.parent.mkdir(parents=True)
    file.write_text("")
    assert signal.read_signal(str(file)) is None
    file.write_text("ope")
    assert signal.await_signal(str(file), lambda s: None, limit=0) is None


def test_stale_signals_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    directory = tmp_path / signal.SIGNAL_DIR
    directory.mkdir(parents=True)
    (directory / "old").write_text("open")
    (directory / "new").write_text("open")
    day_ago = time.time() - signal.STALE_SECONDS - 5
    os.utime(directory / "old", (day_ago, day_ago))
    signal.remove_stale(str(directory))
    assert sorted(path.name for path in directory.iterdir()) == ["new"]
    signal.remove_stale(str(tmp_path / "missing"))  # no directory yet: nothing to do


class Session:
    """A connection double: records the commands, answers like a shell, or fails."""

    transport = "ssh"
    become = None

    def __init__(self, answer: bytes = b"", error: Exception | None = None) -> None:
        self.commands: list[str] = []
        self.answer = answer
        self.error = error

    def exec_command(self, command: str, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        assert sudoable is False
        self.commands.append(command)
        if self.error:
            raise self.error
        return 0, self.answer, b""


class OtherConnection(Session):
    """Another connection plugin, one that calls itself ssh too (as mitogen's does)."""


@pytest.fixture(autouse=True)
def ssh_is_session(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Session double stands for ansible-core's ssh connection.
    monkeypatch.setattr(action, "SSH_CONNECTION", Session)


def test_a_second_session_is_a_copy_of_an_ssh_connection_without_become() -> None:
    session = Session()
    copied = action.second_session(session)
    assert copied is not session and type(copied) is Session
    session.become = object()
    assert action.second_session(session) is None
    assert action.second_session(OtherConnection()) is None


def test_the_second_session_is_for_ansible_cores_ssh_connection_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    from ansible.plugins.connection.ssh import Connection
    assert action.SSH_CONNECTION is Connection


def test_the_relay_sends_the_barriers_state_once_it_is_set(tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    session = Session()

    def relayed(cancelled: threading.Event) -> str | None:
        state = action.wait_at_barrier(str(barrier), poll=0.01, cancelled=cancelled)
        return signal.send_command(PATH, state) if state else None

    relay = action.BesideModule(session, relayed)
    relay.start()
    time.sleep(0.1)
    assert session.commands == []  # waits for the barrier
    assert action.set_barrier(str(barrier), action.CLOSED)
    relay.join(10)
    relay.finish()
    assert session.commands == [signal.send_command(PATH, signal.CLOSED)]


def test_a_cancelled_relay_sends_nothing(tmp_path: Path) -> None:
    session = Session()
    relay = action.BesideModule(session, lambda cancelled: (
        action.wait_at_barrier(str(tmp_path / "never"), poll=0.01, cancelled=cancelled)))
    relay.start()
    relay.finish()
    assert not relay.is_alive() and session.commands == []


@pytest.mark.parametrize(("session", "answers"), [
    (Session(answer=b"open"), [b"open"]),
    (Session(error=AnsibleConnectionFailure("gone")), []),
])
def test_the_watch_hands_its_output_on_and_a_failed_session_is_quiet(session: Session,
                                                                     answers: list[Any]) -> None:
    answered: list[bytes] = []
    watch = action.BesideModule(session, lambda cancelled: "true", answered.append)
    watch.start()
    watch.finish()
    assert answered == answers and len(session.commands) == 1


class Action(action.ActionModule):
    """The plugin around a host double: `_execute_module` is the module's call on the host."""

    def __init__(self, connection: Any, host: Any) -> None:  # no ActionBase.__init__: no task
        self._connection = connection
        self._play_context = type("PlayContext", (), {"check_mode": False})()
        self.host = host
        self.calls: list[dict[str, Any]] = []
        self.low_level: list[str] = []

    def _execute_module(self, module_args: Any = None, task_vars: Any = None,
                        **kwargs: Any) -> dict[str, Any]:
        self.calls.append(module_args)
        return self.host(module_args)

    def _low_level_execute_command(self, cmd: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.low_level.append(cmd)
        return {"rc": 0}


BARRIER = {"role": "job", "primary": "web"}


@pytest.fixture
def barrier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "barrier"
    monkeypatch.setattr(action, "barrier_path", lambda: str(path))
    return path


def _until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_waiting_release_is_one_call_that_the_second_session_lets_boot(barrier: Path) -> None:
    session = Session()

    def host(args: dict[str, Any]) -> dict[str, Any]:
        # The module pulled and waits for its go file: the primary gets ready meanwhile.
        action.set_barrier(str(barrier), action.OPEN)
        _until(lambda: session.commands)
        return {"changed": True, "booted": True, "barrier": "open"}

    plugin = Action(session, host)
    result = plugin._release_after_barrier({"x": 1}, {}, BARRIER, "h3")
    assert result["booted"]
    (call,) = plugin.calls
    assert call["barrier_go_file"] == signal.signal_path(action.run_token(), "go", "h3")
    assert session.commands == [signal.send_command(call["barrier_go_file"], "open")]


@pytest.mark.parametrize(("said", "set_to", "message"), [
    ("closed", action.CLOSED, True), ("waiting", action.OPEN, False)])
def test_a_closed_barrier_fails_and_a_wait_run_out_boots_in_a_second_call(
        barrier: Path, said: str, set_to: str, message: bool) -> None:
    def host(args: dict[str, Any]) -> dict[str, Any]:
        if "barrier_go_file" in args:
            action.set_barrier(str(barrier), set_to)
            return {"changed": True, "booted": False, "barrier": said}
        return {"changed": True, "booted": True}

    plugin = Action(Session(), host)
    result = plugin._release_after_barrier({"x": 1}, {}, BARRIER, "h3")
    if message:
        assert result == {"failed": True, "changed": False,
                          "msg": "First web container is unhealthy, not booting job on h3"}
        assert len(plugin.calls) == 1
    else:
        assert result["booted"]
        assert plugin.calls[1] == {"x": 1, "prefetched": "new"}


def test_without_a_second_session_the_release_pulls_waits_on_the_controller_and_boots(
        barrier: Path) -> None:
    connection = OtherConnection()

    def host(args: dict[str, Any]) -> dict[str, Any]:
        if args.get("pull_only"):
            threading.Timer(0.1, action.set_barrier, (str(barrier), action.OPEN)).start()
            return {"changed": False}
        assert action.read_barrier(str(barrier)) == action.OPEN
        return {"changed": True, "booted": True}

    plugin = Action(connection, host)
    assert plugin._release_after_barrier({"x": 1}, {}, BARRIER, "h3")["booted"]
    assert plugin.calls == [{"x": 1, "pull_only": True}, {"x": 1, "prefetched": "same"}]


def test_a_primary_release_opens_the_barrier_when_its_host_says_ready(barrier: Path) -> None:
    def host(args: dict[str, Any]) -> dict[str, Any]:
        # Still in the module's call (stopping the old version): the watch has read "open".
        _until(lambda: action.read_barrier(str(barrier)) == action.OPEN)
        return {"changed": True}

    session = Session(answer=b"......open")
    plugin = Action(session, host)
    assert plugin._release_deciding_barrier({"x": 1}, {}, "h1") == {"changed": True}
    ready = signal.signal_path(action.run_token(), "ready", "h1")
    assert plugin.calls == [{"x": 1, "barrier_ready_file": ready}]
    assert session.commands == [signal.watch_command(ready, action.WATCH_SECONDS)]
    assert plugin.low_level == []


class HangingSession(Session):
    """A watch that only ends when the ready file is written (by the plugin, here)."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = threading.Event()

    def exec_command(self, command: str, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        self.commands.append(command)
        self.ended.wait(10)
        return 0, b"closed", b""


def test_a_primary_release_that_fails_closes_the_barrier_and_ends_its_watch(
        barrier: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action, "SSH_CONNECTION", HangingSession)
    session = HangingSession()
    plugin = Action(session, lambda args: {"failed": True, "msg": "killed"})
    plugin._low_level_execute_command = (  # type: ignore[method-assign]
        lambda cmd, *a, **k: (plugin.low_level.append(cmd), session.ended.set()))
    assert plugin._release_deciding_barrier({"x": 1}, {}, "h1")["failed"]
    assert action.read_barrier(str(barrier)) == action.CLOSED
    ready = signal.signal_path(action.run_token(), "ready", "h1")
    assert plugin.low_level == [signal.send_command(ready, "closed")]


def test_an_unwatched_primary_release_opens_the_barrier_when_it_returns(barrier: Path) -> None:
    session = Session(answer=b"open")
    plugin = Action(session, lambda args: {"changed": True})
    assert plugin._release_deciding_barrier({"x": 1}, {}, "h2", watched=False)["changed"]
    assert plugin.calls == [{"x": 1}] and session.commands == []
    assert action.read_barrier(str(barrier)) == action.OPEN
