from __future__ import annotations

import io
import json
from typing import Any

from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.run.result import HostFailure, RunResult

# Ansible's words for a host ssh found no route to (captured from a real run).
NO_ROUTE = ("Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.0.0.3 "
            "port 22: No route to host")


def _events() -> list[dict[str, Any]]:
    def result(kind: str, host: str, task: str, **res: Any) -> dict[str, Any]:
        return {"event": kind, "event_data": {"host": host, "task": task, "play": "Boot web",
                                              "res": res}}

    return [
        {"event": "playbook_on_play_start", "event_data": {"play": "Boot web"}},
        result("runner_on_ok", "10.0.0.1", "Start the container.", changed=True),
        result("runner_on_ok", "10.0.0.1", "Wait for health.", changed=False),
        result("runner_on_ok", "10.0.0.1", "Write the env file.", censored="hidden"),
        result("runner_on_failed", "10.0.0.2", "Start the container.", msg="token hunter2 bad"),
        result("runner_on_unreachable", "10.0.0.3", "Start the container.", msg=NO_ROUTE),
        {"event": "playbook_on_stats", "event_data": {}},
    ]


def _result() -> RunResult:
    return RunResult(
        status="failed", rc=2, duration=1.5,
        stats={"ok": {"10.0.0.1": 2}, "changed": {"10.0.0.1": 1}, "failures": {"10.0.0.2": 1},
               "dark": {"10.0.0.3": 1}},
        failures=[HostFailure("10.0.0.2", "Start the container.", "bad"),
                  HostFailure("10.0.0.3", "Start the container.", NO_ROUTE, unreachable=True,
                              play="Boot web")],
    )


def test_human_output_prints_one_line_per_play_and_host_and_failures_at_once() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, redact=lambda text: text.replace("hunter2", "[REDACTED]"))
    for event in _events():
        output.event(event)
    output.summary(_result(), 1)
    lines = stream.getvalue().splitlines()
    assert "    10.0.0.2  FAILED: Start the container.: token [REDACTED] bad" in lines
    assert ("    10.0.0.3  UNREACHABLE: Start the container.: no route to host (ssh: connect "
            "to host 10.0.0.3 port 22: No route to host)") in lines
    assert "--> Boot web" in lines
    assert "    10.0.0.1  done (3 tasks)" in lines
    assert "    10.0.0.2  failed (1 tasks)" in lines
    assert "    10.0.0.3  unreachable (1 tasks)" in lines
    assert "    10.0.0.1  changed: ok=2 changed=1 failed=0 unreachable=0 skipped=0" in lines
    assert "    10.0.0.2  failed: ok=0 changed=0 failed=1 unreachable=0 skipped=0" in lines
    assert "    10.0.0.3  unreachable: ok=0 changed=0 failed=0 unreachable=1 skipped=0" in lines
    assert ("    10.0.0.3 was unreachable; no task ran on the other hosts after that (the run "
            "stopped there)") in lines
    assert "hunter2" not in stream.getvalue()


def test_quiet_keeps_only_errors() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, quiet=True)
    for event in _events():
        output.event(event)
    output.say("--> kdeploy setup")
    output.summary(_result(), 1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert all("FAILED" in line or "UNREACHABLE" in line for line in lines)


def test_verbose_shows_every_task() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, verbose=True)
    for event in _events():
        output.event(event)
    assert "      10.0.0.1  Start the container.: changed" in stream.getvalue().splitlines()
    assert "      10.0.0.1  Wait for health.: ok" in stream.getvalue().splitlines()
    assert ("      10.0.0.1  Write the env file.: ok (result hidden: no_log)"
            in stream.getvalue().splitlines())


def test_json_output_is_one_object_per_line_ending_with_the_summary() -> None:
    stream = io.StringIO()
    output = JsonOutput(stream=stream, redact=lambda text: text.replace("hunter2", "[REDACTED]"))
    for event in _events():
        output.event(event)
    output.summary(_result(), 1)
    objects = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [item["event"] for item in objects] == [
        "play", "ok", "ok", "ok", "failed", "unreachable", "summary"]
    assert objects[1] == {"event": "ok", "host": "10.0.0.1", "play": "Boot web",
                          "task": "Start the container.", "changed": True, "msg": None}
    assert objects[3]["changed"] is None  # no_log hid the result, `changed` included
    summary = objects[-1]
    assert summary["exit_code"] == 1
    assert summary["hosts"]["10.0.0.3"]["unreachable"] == 1
    assert summary["hosts"]["10.0.0.1"] == {"ok": 2, "changed": 1, "failed": 0,
                                            "unreachable": 0, "skipped": 0, "state": "changed"}
    assert summary["hosts"]["10.0.0.3"]["state"] == "unreachable"
    assert objects[5]["reason"] == ("no route to host (ssh: connect to host 10.0.0.3 port 22: "
                                    "No route to host)")
    assert summary["failures"][1]["reason"] == "no route to host"
    assert summary["failures"][1]["play"] == "Boot web"
    assert "hunter2" not in stream.getvalue()


def test_a_held_lock_is_said_once_by_the_command_not_as_a_task_failure() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.event({"event": "runner_on_failed", "event_data": {
        "host": "10.0.0.1", "task": "Take the deploy lock.",
        "res": {"msg": "Deploy lock already in place!\nLocked by: someone"}}})
    assert stream.getvalue() == ""


def _task(kind: str, host: str, task_uuid: str) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "task": task_uuid, "task_uuid": task_uuid,
                                          "play": "Boot web", "res": {}}}


def _after_unreachable(events: list[dict[str, Any]]) -> str:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    for event in events:
        output.event(event)
    output.summary(_result(), 1)
    return next(line for line in stream.getvalue().splitlines() if "was unreachable" in line)


def test_the_summary_says_the_other_hosts_went_on_after_an_unreachable_one() -> None:
    assert _after_unreachable([
        _task("runner_on_start", "10.0.0.1", "boot"), _task("runner_on_start", "10.0.0.3", "boot"),
        _task("runner_on_unreachable", "10.0.0.3", "boot"),
        _task("runner_on_ok", "10.0.0.1", "boot"),  # already running: not "went on"
        _task("runner_on_start", "10.0.0.1", "prune"), _task("runner_on_ok", "10.0.0.1", "prune"),
        _task("runner_on_start", "10.0.0.1", "skip"),
        _task("runner_on_skipped", "10.0.0.1", "skip"),
        _task("runner_on_start", "10.0.0.2", "prune"), _task("runner_on_ok", "10.0.0.2", "prune"),
    ]) == "    10.0.0.3 was unreachable; the other hosts went on (2 more tasks ran on them)"


def test_the_summary_says_when_no_other_host_ran_a_task_after_an_unreachable_one() -> None:
    # any_errors_fatal: the task already running on the other host ends, nothing starts.
    assert _after_unreachable([
        _task("runner_on_start", "10.0.0.1", "boot"), _task("runner_on_start", "10.0.0.3", "boot"),
        _task("runner_on_unreachable", "10.0.0.3", "boot"),
        _task("runner_on_ok", "10.0.0.1", "boot"),
    ]) == ("    10.0.0.3 was unreachable; no task ran on the other hosts after that (the run "
           "stopped there)")
