"""The settle module (plugins/modules/settle.py) over a made-up /proc.

The e2e interrupt tests run it for real on the sandbox hosts; here each rule is pinned: which
processes belong to the interrupted run, which are asked to stop, which are let finish, and
what is killed when the time is up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from playbook_support import load_module_utils, load_plugin

settle = load_plugin("settle")
stop = load_module_utils("stop")  # what the release module writes with

OURS = "10.0.0.1 40000 10.0.0.11 22"  # SSH_CONNECTION of the run's ControlMaster connection
OTHER = "10.0.0.1 50000 10.0.0.11 22"  # another connection (another deploy, Kamal, a person)
TERM = 1 << 14  # SIGTERM's bit in SigCgt


def write_process(proc: Path, pid: int, ppid: int, command: str, connection: str = "",
                  caught: int = 2, state: str = "S (sleeping)") -> None:
    directory = proc / str(pid)
    directory.mkdir()
    (directory / "status").write_text(f"Name:\tx\nState:\t{state}\nPPid:\t{ppid}\n"
                                      f"SigCgt:\t{caught:016x}\n")
    (directory / "cmdline").write_bytes(command.replace(" ", "\0").encode() + b"\0")
    env = {"HOME": "/root", **({"SSH_CONNECTION": connection} if connection else {})}
    (directory / "environ").write_bytes(b"".join(f"{k}={v}\0".encode() for k, v in env.items()))


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    """sshd with two sessions on our connection (an in-flight module, and the settle itself)."""
    root = tmp_path / "proc"
    root.mkdir()
    write_process(root, 100, 1, "sshd: root@notty")
    # The in-flight release: sh -c 'python3 && sleep 0' -> python3 (catches SIGTERM) -> docker.
    write_process(root, 200, 100, "/bin/sh -c /usr/bin/python3 && sleep 0", OURS)
    write_process(root, 201, 200, "/usr/bin/python3", OURS, caught=2 | TERM)
    write_process(root, 202, 201, "docker stop app-web-v1", OURS, caught=0xFFFF)
    # An in-flight community.docker module: python without a SIGTERM handler.
    write_process(root, 300, 100, "/bin/sh -c /usr/bin/python3 && sleep 0", OURS)
    write_process(root, 301, 300, "/usr/bin/python3", OURS)
    # The settle module itself, and someone else's session on another connection.
    write_process(root, 400, 100, "/bin/sh -c /usr/bin/python3 && sleep 0", OURS)
    write_process(root, 401, 400, "/usr/bin/python3", OURS)
    write_process(root, 500, 1, "/usr/bin/python3", OTHER, caught=2 | TERM)
    write_process(root, 600, 201, "zombie", OURS, state="Z (zombie)")
    return root


def test_the_runs_processes_are_those_of_its_connection_and_their_children(proc: Path) -> None:
    table = settle.proc_table(str(proc))
    assert settle.run_processes(table, 401, OURS) == [200, 201, 202, 300, 301]
    assert settle.run_processes(table, 401, "") == []  # no connection, nothing to claim


def test_a_process_of_another_user_is_found_through_its_parent(proc: Path) -> None:
    # A process started through sudo has no SSH_CONNECTION of ours (sudo resets the environment).
    write_process(proc, 700, 301, "sudo docker", "")
    table = settle.proc_table(str(proc))
    assert 700 in settle.run_processes(table, 401, OURS)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_modules_that_catch_sigterm_are_asked_to_stop_and_others_are_waited_for(
        proc: Path) -> None:
    clock = Clock()
    sent: list[tuple[int, int]] = []

    def kill(pid: int, signum: int) -> None:
        sent.append((pid, signum))
        if signum == 15:  # the release stops at its safe point; its docker CLI ends with it
            for gone in (200, 201, 202, 600):
                _remove(proc / str(gone))

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 1:  # the community.docker module finishes on its own
            for gone in (300, 301):
                _remove(proc / str(gone))

    settler = settle.Settler(str(proc), me=401, connection=OURS, clock=clock, sleep=sleep,
                             kill=kill)
    settler.settle(timeout=60)
    assert sent == [(201, 15)]
    assert sorted(settler.stopped) == [201]
    assert sorted(settler.waited) == [200, 202, 300, 301]
    assert settler.killed == {}


def test_what_still_runs_after_the_timeout_is_killed(proc: Path) -> None:
    clock = Clock()
    sent: list[tuple[int, int]] = []
    settler = settle.Settler(str(proc), me=401, connection=OURS, clock=clock, sleep=clock.sleep,
                             kill=lambda pid, signum: sent.append((pid, signum)))
    settler.settle(timeout=5)
    assert (201, 15) in sent
    assert sorted(pid for pid, signum in sent if signum == 9) == [200, 201, 202, 300, 301]
    assert sorted(settler.killed) == [200, 201, 202, 300, 301]
    assert clock.now >= 5


def test_a_module_is_asked_to_stop_once_it_has_installed_its_handler(proc: Path) -> None:
    # At the first look the release has not caught SIGTERM yet (its handler comes a moment later).
    _remove(proc / "201")
    write_process(proc, 201, 200, "/usr/bin/python3", OURS, caught=2)
    clock = Clock()
    sent: list[tuple[int, int]] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        _remove(proc / "201")
        write_process(proc, 201, 200, "/usr/bin/python3", OURS, caught=2 | TERM)

    settler = settle.Settler(str(proc), me=401, connection=OURS, clock=clock, sleep=sleep,
                             kill=lambda pid, signum: sent.append((pid, signum)))
    settler.settle(timeout=0.3)
    assert sent[0] == (201, 15)
    assert 201 not in settler.waited and 201 in settler.stopped


@pytest.mark.parametrize(("events", "pending"), [
    ([], {}),
    ([{"Action": "kill", "Actor": {"ID": "a", "Attributes": {"name": "web-v1"}}}], {"a": "web-v1"}),
    ([{"Action": "kill", "Actor": {"ID": "a", "Attributes": {"name": "web-v1"}}},
      {"Action": "die", "Actor": {"ID": "a", "Attributes": {"name": "web-v1"}}}], {}),
    ([{"Action": "kill", "Actor": {"ID": "a", "Attributes": {"name": "db"}}},
      {"Action": "destroy", "Actor": {"ID": "a"}},
      {"Action": "kill", "Actor": {"ID": "b", "Attributes": {"name": "web-v2"}}}],
     {"b": "web-v2"}),
])
def test_containers_still_stopping_are_those_signalled_that_did_not_die(
        events: list[dict[str, Any]], pending: dict[str, str]) -> None:
    assert settle.stopping(events) == pending


def test_the_notes_of_this_runs_modules_are_read_once(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / ".kdeploy" / "interrupted"
    for pid, connection in ((201, OURS), (202, OURS), (999, OTHER)):
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        monkeypatch.setenv("SSH_CONNECTION", connection)
        stop.write_note(str(tmp_path), {"role": "web", "pid": pid})
    os.utime(notes / "202.json", (1, 1))  # the older one comes first
    assert settle.read_notes(str(tmp_path), OURS) == [{"role": "web", "pid": 202},
                                                      {"role": "web", "pid": 201}]
    assert sorted(path.name for path in notes.iterdir()) == ["999.json"]
    assert settle.read_notes(str(tmp_path), OURS) == []


def _remove(directory: Path) -> None:
    for item in directory.iterdir():
        item.chmod(0o600)
        item.unlink()
    directory.rmdir()


# -- Docker's half: containers still being stopped or removed ----------------------------------


class FakeDocker:
    """Answers settle's reads: one container Docker was told to stop, one being removed."""

    def __init__(self) -> None:
        self.inspected: list[str] = []

    def events(self, since: float, until: float, filters: dict[str, Any]) -> list[dict[str, Any]]:
        assert filters == {"type": ["container"]}
        return [{"Action": "kill", "Actor": {"ID": "k1", "Attributes": {"name": "app-web-v1"}}}]

    def request(self, method: str, url: str) -> tuple[int, bytes]:
        if url == "/containers/json?all=1":
            return 200, (b'[{"Id": "r1", "Names": ["/app-web-v0"], "State": "removing"},'
                         b' {"Id": "u1", "Names": ["/other"], "State": "running"}]')
        self.inspected.append(url)
        if url == "/containers/k1/json":  # stops on the second look
            running = self.inspected.count(url) < 2
            return 200, b'{"State": {"Running": %s}}' % (b"true" if running else b"false")
        return 404, b'{"message": "No such container"}'


def test_settle_waits_for_containers_docker_still_stops_or_removes() -> None:
    docker = FakeDocker()
    clock = iter(range(100))
    waited = settle.settle_docker(docker, 600, 30, clock=lambda: next(clock), sleep=lambda _: None)
    assert waited == ["app-web-v1"]
    assert docker.inspected == ["/containers/k1/json", "/containers/k1/json", "/containers/r1/json"]
    assert settle.containers(docker, ["app-"]) == [
        {"name": "app-web-v0", "state": "removing", "image": None}]


def test_a_daemon_that_does_not_answer_is_named_by_the_sockets_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    socket = tmp_path / "nothing.sock"
    args = {"docker_host": f"unix://{socket}", "_ansible_check_mode": True}
    with patch_module_args(args), pytest.raises(SystemExit):
        settle.main()
    result = json.loads(capsys.readouterr().out)
    assert result["msg"] == (f"Cannot read Docker at unix://{socket}: "
                             "[Errno 2] No such file or directory")
