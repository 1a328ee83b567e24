"""Interrupts on real hosts: SIGINT and SIGTERM at the lock, the boot and the old version's stop.

Web runs on hosts 1-2 with a command that ignores SIGTERM (each stop of an old web container takes
the whole drain timeout), job on host 3, `readiness_delay: 6`. The signal goes to kdeploy's whole
process group, as a terminal's Ctrl-C or a CI runner's cancel sends it. Each time: kdeploy exits
with 128 + the signal, the hosts are the same at exit and 30 s later, the lock is free, every web
host still runs a web container, no process of the run is left on this machine, and the next
deploy exits 0. One project runs every case in turn, each deploy switching the version.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import helpers
import psutil
import pytest
from event_schema import event_errors, validate_events
from project import Project, example_config, lock_dirs, snapshot

from kdeploy.sandbox import SandboxInfo, up
from kdeploy.sandbox.example import JOB_CMD, SERVICE

pytestmark = pytest.mark.e2e

# busybox httpd that ignores SIGTERM: `docker stop` waits the whole drain timeout.
STUBBORN_WEB = "sh -c 'trap \"\" TERM; httpd -f -p 80 -h /www & wait'"
DRAIN = 8
QUIET_AFTER_EXIT = 30
# Set in kdeploy's environment: every process it starts inherits it (even ssh masters).
MARK = "KDEPLOY_E2E_RUN"


@pytest.fixture(scope="module")
def stubborn(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[SandboxInfo, Project, list[str]]]:
    """The project, set up at v1 on clean hosts; the list holds the version running now."""
    info = up(hosts=len(sandbox.hosts))  # rebuilt if an earlier test broke it
    helpers.clean_hosts(info)
    config = example_config(info)
    config.pop("accessories")
    web = [info.host(1).address, info.host(2).address]
    config["servers"] = {"web": {"hosts": web, "proxy": False, "cmd": STUBBORN_WEB},
                         "job": {"hosts": [info.host(3).address], "proxy": False,
                                 "cmd": JOB_CMD}}
    config.update(readiness_delay=6, drain_timeout=DRAIN)  # room for a loaded machine
    project = Project.write(tmp_path_factory.mktemp("interrupts"), config)
    run = project.kdeploy("setup", "-P", "--version", "v1")
    assert run.returncode == 0, run
    yield info, project, ["v1"]
    helpers.clean_hosts(info)


class Deploy:
    """A `kdeploy deploy` in its own process group, its JSON events read as they come."""

    def __init__(self, project: Project, version: str) -> None:
        self.mark = uuid.uuid4().hex
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kdeploy", "deploy", "-P", "--version", version,
             "--output", "json"], cwd=project.directory, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, MARK: self.mark})
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []  # as written, each checked against the schema as it comes
        self.invalid: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        for line in self.process.stdout:
            self.lines.append(line)
            errors = event_errors(line)
            self.invalid += errors
            if not errors:
                self.events.append(json.loads(line))
        self.stderr = self.process.stderr.read()

    def wait_for_play(self, name: str, timeout: float = 60) -> None:
        _wait(lambda: any(e.get("type") == "play_start" and e.get("play") == name
                          for e in self.events), timeout, f"play {name!r}")

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def finish(self, timeout: float = 180, *, killed: bool = False) -> int:
        """Wait for the end; every line must be a valid event, and (unless SIGKILL cut the
        run short of its summary) the stream must end with exactly one terminal event."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.invalid == [], self.invalid
        if not killed:
            validate_events(self.lines)
        return code

    def output(self) -> str:
        lines = [event.get("msg") or event.get("text") or json.dumps(event)
                 for event in self.events]
        return "\n".join(lines) + "\n" + self.stderr

    def left_behind(self) -> list[str]:
        """Processes still alive that this deploy started (they carry its mark)."""
        found = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                if process.environ().get(MARK) == self.mark:
                    found.append(" ".join(process.info["cmdline"] or []))
            except psutil.Error:
                continue
        return found


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def on_host(info: SandboxInfo, index: int, script: str) -> subprocess.Popen[str]:
    """A shell script running on a host, its first output line marking a moment."""
    return subprocess.Popen(info.ssh_command(index, script), stdout=subprocess.PIPE, text=True)


def web_containers(info: SandboxInfo, index: int) -> list[helpers.Container]:
    return [c for c in helpers.containers(info, index)
            if c.labels.get("role") == "web" and c.labels.get("service") == SERVICE]


MOMENTS = ("lock", "boot", "stop")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_signal_stops_the_deploy_and_leaves_every_host_at_rest(
        stubborn: tuple[SandboxInfo, Project, list[str]], moment: str, signum: int) -> None:
    info, project, running = stubborn
    old, new = running[0], "v2" if running[0] == "v1" else "v1"
    old_name, new_name = f"{SERVICE}-web-{old}", f"{SERVICE}-web-{new}"
    watcher = None
    if moment == "boot":  # a new web container runs on host 1: it is in its readiness wait
        # (a stopped container of that version from an earlier case may hold the name)
        before = next((c.id for c in web_containers(info, 1) if c.name == new_name), "none")
        # Bounded, so that a boot that never comes fails this case instead of hanging the next.
        watcher = on_host(info, 1, "timeout 120 sh -c \"until docker inspect -f "
                                   f"'{{{{.Id}}}} {{{{.State.Running}}}}' {new_name} 2>/dev/null"
                                   f" | grep -v '^{before} ' | grep -q ' true$'; do sleep 0.05;"
                                   " done; echo booted\"")
    elif moment == "stop":  # Docker sent the old web container its SIGTERM: the drain is on
        watcher = on_host(info, 1, f"timeout 120 docker events --filter container={old_name} "
                                   "--filter event=kill | head -n 1")
    deploy = Deploy(project, new)
    if watcher is None:
        deploy.wait_for_play("Acquire the deploy lock")
    else:
        assert watcher.stdout is not None
        assert watcher.stdout.readline(), "the moment never came"
        watcher.wait(timeout=30)
    deploy.signal(signum)
    code = deploy.finish()
    at_exit = snapshot(info), lock_dirs(info, 1)
    left = deploy.left_behind()
    output = deploy.output()

    assert code == 128 + signum, output
    assert f"Interrupted by {signal.Signals(signum).name}" in output
    assert left == [], f"processes of the run outlived kdeploy: {left}"
    assert at_exit[1] == [], f"the lock is still held:\n{output}"
    for index in (1, 2):
        assert any(c.running for c in web_containers(info, index)), (index, output)
    if moment == "boot":
        (report,) = [event for event in deploy.events if event["type"] == "report"]
        assert report["report"] == "interrupted", output
        assert any(cut["step"].startswith("waiting for") for item in report["items"]
                   for cut in item["cut"]), output
        # Job's release was pulling or waiting at the role barrier on its host: cut, no boot.
        (job_host,) = [item for item in report["items"] if item["host"] == info.host(3).address]
        assert all(cut["left"] == "nothing was booted" for cut in job_host["cut"]), output
        assert not [c for c in helpers.containers(info, 3) if new in c.name and c.running]
        for index in (1, 2):
            assert all(c.name != new_name or not c.running for c in web_containers(info, index))
    if moment == "stop":
        assert any(c.name == new_name and c.running for c in web_containers(info, 1)), output
    time.sleep(QUIET_AFTER_EXIT)
    assert (snapshot(info), lock_dirs(info, 1)) == at_exit, "a host changed after kdeploy exited"

    after = project.kdeploy("deploy", "-P", "--version", new)
    assert after.returncode == 0, after
    for index in (1, 2):
        assert [c.name for c in web_containers(info, index) if c.running] == [new_name]
    running[0] = new


def test_a_killed_runs_lock_is_named_with_its_age_and_released_by_hand(
        stubborn: tuple[SandboxInfo, Project, list[str]]) -> None:
    info, project, running = stubborn
    new = "v2" if running[0] == "v1" else "v1"
    deploy = Deploy(project, new)
    _wait(lambda: lock_dirs(info, 1) != [], 60, "the lock")
    # A lost machine: every local process of the run dies at once, nothing cleans up.
    tree = psutil.Process(deploy.process.pid)
    for process in [tree, *tree.children(recursive=True)]:
        # A process of the listing can end before its turn (a worker, an ssh): already gone.
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    deploy.finish(killed=True)
    # Whatever the killed run left running on the hosts (its releases, the watch of the role
    # barrier) ends on its own; the lock stays.
    _wait(lambda: not _run_processes_on_hosts(info), 120, "the orphaned processes to end")

    held = project.kdeploy("deploy", "-P", "--version", new)
    assert held.returncode == 3, held
    assert "Deploy lock already in place!" in held.output
    assert "Locked by: " in held.output and "Message: Automatic deploy lock" in held.output
    assert "The lock was taken " in held.output and " ago." in held.output
    assert "release it with `kdeploy lock release`" in held.output

    assert project.kdeploy("lock", "release").returncode == 0
    after = project.kdeploy("deploy", "-P", "--version", new)
    assert after.returncode == 0, after
    running[0] = new


def _run_processes_on_hosts(info: SandboxInfo) -> list[int]:
    """Processes started over SSH on a sandbox host (the hosts share this PID space): modules,
    shells and what they run."""
    addresses = {f" {host.address} 22" for host in info.hosts}
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            connection = process.environ().get("SSH_CONNECTION", "")
        except psutil.Error:
            continue
        if any(connection.endswith(address) for address in addresses):
            found.append(process.info["pid"])
    return found
