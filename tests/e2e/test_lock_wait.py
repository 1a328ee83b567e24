"""`--lock-wait` on real hosts, against a lock the real Kamal holds (Kamal 2.12's semantics).

A lock with Kamal's automatic message (what a running deploy holds) is waited for: the deploy
polls, says so per poll, and goes on once `kamal lock release` frees it. A lock taken by hand
(any other message) makes `--lock-wait` exit 3 at once; so does a timeout, naming the holder.
Every JSON line is checked against the shipped event schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from app_state import assert_runs, running_app
from project import Project, address, example_config, lock_dirs

from kdeploy.events import schema_path
from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

AUTOMATIC = "Automatic deploy lock"
# Kamal takes the version from git; these projects are not repositories.
KAMAL_VERSION = ("--version", "v1")
SCHEMA = json.loads(schema_path().read_text())


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Iterator[Project]:
    config = example_config(clean_sandbox)
    config.pop("accessories")
    project = Project.write(tmp_path, config)
    yield project
    project.kamal("lock", "release", *KAMAL_VERSION)  # never leave a lock to the next test


def valid_events(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line as an event of the schema; the last one terminal."""
    events = [json.loads(line) for line in stdout.splitlines()]
    for event in events:
        jsonschema.validate(event, SCHEMA)
    assert events and events[-1]["type"] in ("summary", "error"), stdout
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == kind]


class Background:
    """A kdeploy command in the background, its stdout lines collected as they come."""

    def __init__(self, project: Project, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "kdeploy", *args],
                                        cwd=project.directory, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        for line in self.process.stdout:
            self.lines.append(line)
        self.stderr = self.process.stderr.read()

    def wait_until(self, condition: Callable[[list[dict[str, Any]]], bool], what: str,
                   timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not condition([json.loads(line) for line in list(self.lines)]):
            assert self.process.poll() is None, f"exited before {what}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {what} yet:\n{self.output()}"
            time.sleep(0.2)

    def finish(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def output(self) -> str:
        return "".join(self.lines) + self.stderr


def test_an_automatic_lock_is_waited_for_and_the_deploy_goes_on_once_it_is_released(
        clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    taken = project.kamal("lock", "acquire", "-m", AUTOMATIC, *KAMAL_VERSION)
    assert taken.returncode == 0, taken

    deploy = Background(project, "deploy", "-P", "--version", "v1", "--lock-wait",
                        "--lock-wait-interval", "1", "--output", "json")
    try:
        deploy.wait_until(lambda events: len(of_type(events, "waiting")) >= 2,
                          "second waiting event")
        assert running_app(info, 1) == {}  # nothing deployed while it waits
    finally:
        released = project.kamal("lock", "release", *KAMAL_VERSION)
    assert released.returncode == 0, released
    assert deploy.finish() == 0, deploy.output()

    events = valid_events("".join(deploy.lines))
    assert events[0]["type"] == "run_start"
    assert events[0]["lock_wait"] == {"timeout": 900, "interval": 1}
    waiting = of_type(events, "waiting")
    assert [event["attempt"] for event in waiting] == list(range(1, len(waiting) + 1))
    for event in waiting:
        assert event["host"] == address(info, 1)
        assert event["holder"]["message"] == AUTOMATIC and event["holder"]["automatic"]
        assert event["holder"]["version"] == "v1"
        assert event["next_poll_in"] == 1 and event["timeout"] == 900
    texts = [event["text"] for event in of_type(events, "message")]
    assert "Acquiring the deploy lock (waiting up to 900s)..." in texts
    assert texts.count("Deploy lock is held by:") == 1
    summary = events[-1]
    assert (summary["type"], summary["exit_code"], summary["lock_held"]) == ("summary", 0, False)
    assert_runs(info, "v1")
    assert lock_dirs(info, 1) == []  # the lock the wait took was released with the run's


def test_the_wait_times_out_with_exit_3_naming_the_holder(clean_sandbox: SandboxInfo,
                                                          project: Project) -> None:
    info = clean_sandbox
    taken = project.kamal("lock", "acquire", "-m", AUTOMATIC, *KAMAL_VERSION)
    assert taken.returncode == 0, taken

    run = project.kdeploy("deploy", "-P", "--version", "v1", "--lock-wait",
                          "--lock-wait-timeout", "3", "--lock-wait-interval", "1",
                          "--output", "json")
    assert run.returncode == 3, run
    events = valid_events(run.stdout)
    assert of_type(events, "waiting"), run
    summary = events[-1]
    assert summary["type"] == "summary" and summary["exit_code"] == 3
    assert summary["lock_held"] is True and summary["lock"]["message"] == AUTOMATIC
    assert summary["error"]["kind"] == "lock_timeout"
    assert summary["error"]["message"].startswith(
        "Timed out after 3s waiting for the deploy lock")
    assert f"Message: {AUTOMATIC}" in summary["error"]["message"]

    human = project.kdeploy("deploy", "-P", "--version", "v1", "--lock-wait",
                            "--lock-wait-timeout", "0")
    assert human.returncode == 3, human
    assert "ERROR: Timed out after 0s waiting for the deploy lock" in human.stderr, human
    assert "Locked by: " in human.stderr and f"Message: {AUTOMATIC}" in human.stderr, human
    assert "Traceback" not in human.output

    # Kamal's lock is left as it was, and nothing was deployed.
    status = project.kamal("lock", "status", *KAMAL_VERSION)
    assert f"Message: {AUTOMATIC}" in status.stdout, status
    assert running_app(info, 1) == {}


def test_a_lock_taken_by_hand_is_not_waited_for(clean_sandbox: SandboxInfo,
                                                project: Project) -> None:
    info = clean_sandbox
    taken = project.kamal("lock", "acquire", "-m", "maintenance", *KAMAL_VERSION)
    assert taken.returncode == 0, taken

    # The default timeout is 900 s: an exit at all shows that it did not wait.
    run = project.kdeploy("deploy", "-P", "--version", "v1", "--lock-wait", "--output", "json",
                          timeout=120)
    assert run.returncode == 3, run
    events = valid_events(run.stdout)
    assert of_type(events, "waiting") == []
    assert events[-1]["error"]["kind"] == "lock_manual"
    assert "Message: maintenance" in events[-1]["error"]["message"]
    assert lock_dirs(info, 1) != [] and running_app(info, 1) == {}
