from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema

from kdeploy import events
from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.run.hooked import HOOK_EVENT, HOOK_KEY
from kdeploy.run.result import HostFailure, RunResult

# Ansible's words for a host ssh found no route to (captured from a real run).
NO_ROUTE = ("Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.0.0.3 "
            "port 22: No route to host")


RUN_INFO = {"command": "deploy", "kdeploy_version": "0.1.0", "service": "app", "version": "v2",
            "image": "reg/app:v2", "destination": None, "hosts": ["10.0.0.1", "10.0.0.2"],
            "lock_host": "10.0.0.1", "check": False, "diff": False, "lock_wait": None,
            "ansible_args": ["--limit", "10.0.0.1"], "run_id": "abc123"}


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
    # A task that is not a `fail` with its own words is named before its message.
    assert "    10.0.0.2  FAILED: Start the container.: token [REDACTED] bad" in lines
    assert ("    10.0.0.3  UNREACHABLE: no route to host (ssh: connect "
            "to host 10.0.0.3 port 22: No route to host)") in lines
    assert lines[0] == "--> Boot web"  # said when the play's first result came, not at its end
    assert "    10.0.0.1  done (3 tasks)" in lines
    assert "    10.0.0.2  failed (1 task)" in lines
    assert "    10.0.0.3  unreachable (1 task)" in lines
    assert "    10.0.0.1  changed: ok=2 changed=1 failed=0 unreachable=0 skipped=0" in lines
    assert "    10.0.0.2  failed: ok=0 changed=0 failed=1 unreachable=0 skipped=0" in lines
    assert "    10.0.0.3  unreachable: ok=0 changed=0 failed=0 unreachable=1 skipped=0" in lines
    assert ("    10.0.0.3 was unreachable; no task ran on the other hosts after that (the run "
            "stopped there)") in lines
    assert "hunter2" not in stream.getvalue()


def test_a_play_header_comes_when_its_first_task_starts_and_before_the_tasks() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, verbose=True)
    output.event({"event": "playbook_on_play_start", "event_data": {"play": "Boot web"}})
    assert stream.getvalue() == ""  # a play that runs nothing on any host says nothing
    output.event({"event": "runner_on_start",
                  "event_data": {"host": "10.0.0.1", "task": "Start the container."}})
    assert stream.getvalue() == "--> Boot web\n"
    for event in _events()[1:]:
        output.event(event)
    lines = stream.getvalue().splitlines()
    assert lines.count("--> Boot web") == 1
    assert lines.index("--> Boot web") < lines.index(
        "      10.0.0.1  Start the container.: changed")


BOOT_TASK = "Boot the version and stop the other versions."


def _failed_release(host: str = "10.0.0.1", play: str = "Boot the app") -> list[dict[str, Any]]:
    return [
        {"event": "playbook_on_play_start", "event_data": {"play": play}},
        {"event": "runner_on_start", "event_data": {
            "host": host, "play": play, "task": BOOT_TASK,
            "resolved_action": "kdeploy.deploy.release"}},
        {"event": "runner_on_failed", "event_data": {
            "host": host, "play": play, "task": BOOT_TASK,
            "resolved_action": "kdeploy.deploy.release",
            "res": {"changed": False,
                    "msg": "app-web-v2 did not become healthy in 7 s\nlog line 1"}}},
        {"event": "playbook_on_stats", "event_data": {}},
    ]


INFO = {**RUN_INFO, "roles": {"web": ["10.0.0.1", "10.0.0.2"], "job": ["10.0.0.2", "10.0.0.3"]},
        "hosts": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
        "health": {"web": {"container": "app-web-v2", "timeout": 7},
                   "job": {"container": "app-job-v2", "timeout": 9}}}


def test_the_header_names_version_image_and_roles_and_ansible_args_only_with_v() -> None:
    stream = io.StringIO()
    HumanOutput(stream=stream).run_start(INFO)
    assert stream.getvalue() == ("--> Deploying app v2 (reg/app:v2) to web (2 hosts), "
                                 "job (2 hosts)\n")
    stream = io.StringIO()
    HumanOutput(stream=stream, verbose=True).run_start({**INFO, "command": "app boot"})
    assert stream.getvalue().splitlines() == [
        "--> kdeploy app boot for app v2 (reg/app:v2) on web (2 hosts), job (2 hosts)",
        "    ansible-playbook --limit 10.0.0.1"]


def test_a_release_says_what_it_waits_for_and_a_failure_ends_with_the_reason_per_host() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.run_start(INFO)
    for event in _failed_release():
        output.event(event)
    output.summary(RunResult(
        status="failed", duration=7.25, stats={"failures": {"10.0.0.1": 1}},
        failures=[HostFailure("10.0.0.1", BOOT_TASK,
                              "app-web-v2 did not become healthy in 7 s\nlog line 1")]), 1)
    lines = stream.getvalue().splitlines()
    assert lines[1:4] == [
        "--> Boot the app",
        "    10.0.0.1  waiting up to 7 seconds for app-web-v2 to be healthy",
        "    10.0.0.1  FAILED: app-web-v2 did not become healthy in 7 s"]
    assert lines[-2:] == ["--> kdeploy deploy failed on 1 host in 7.2 s:",
                          "    10.0.0.1  app-web-v2 did not become healthy in 7 s"]
    assert BOOT_TASK not in stream.getvalue()
    # -v names the task too.
    stream = io.StringIO()
    output = HumanOutput(stream=stream, verbose=True)
    for event in _failed_release():
        output.event(event)
    assert (f"    10.0.0.1  FAILED: {BOOT_TASK}: app-web-v2 did not become healthy in 7 s"
            in stream.getvalue().splitlines())


def test_a_boot_play_waits_for_the_role_of_its_slot_on_each_host() -> None:
    # The group's first play boots each host's first role (primary first), the next play the
    # second role of the hosts that have one; other plays say nothing.
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.run_start(INFO)
    for host, play in (("10.0.0.2", "Boot the app"), ("10.0.0.3", "Boot the app (group 2 of 2)"),
                       ("10.0.0.2", "Boot the app: role 2 of each host"),
                       ("10.0.0.1", "Boot the app roles")):
        output.event(_failed_release(host, play)[1])
    assert [line for line in stream.getvalue().splitlines() if "waiting" in line] == [
        "    10.0.0.2  waiting up to 7 seconds for app-web-v2 to be healthy",
        "    10.0.0.3  waiting up to 9 seconds for app-job-v2 to be healthy",
        "    10.0.0.2  waiting up to 9 seconds for app-job-v2 to be healthy"]


def test_a_release_says_when_the_container_is_healthy() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.run_start(INFO)
    start, failed = _failed_release()[1:3]
    ok = {**failed, "event": "runner_on_ok"}
    output.event(start)
    output.event({**ok, "event_data": {**ok["event_data"], "duration": 2.04,
                                       "res": {"changed": True}}})
    output.event({**ok, "event_data": {**ok["event_data"], "host": "10.0.0.2",
                                       "res": {"changed": False}}})
    assert stream.getvalue().splitlines()[-2:] == [
        "    10.0.0.1  app-web-v2 is healthy (2.0 s)",
        "    10.0.0.2  app-web-v2 already runs (nothing to do)"]


def test_a_successful_deploy_ends_with_what_it_deployed_where_and_how_long() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.run_start(INFO)
    output.event({"event": HOOK_EVENT, "event_data": {"text": "pre-deploy (1 playbook)"}})
    output.summary(RunResult(status="successful", duration=3.44,
                             stats={"ok": {"10.0.0.1": 1}}), 0)
    lines = stream.getvalue().splitlines()
    assert "    hooks run: pre-deploy (1 playbook)" in lines
    assert lines[-1] == "--> Deployed app v2 to web (2 hosts), job (2 hosts) in 3.4 s"


def test_a_hook_playbooks_debug_lines_show_under_its_hook() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    data = {"host": "10.0.0.1", "play": "Notify", "task": "Say hello.",
            "resolved_action": "ansible.builtin.debug", "res": {"msg": "hello\nworld"}}
    output.event({"event": "playbook_on_play_start", "event_data": {"play": "Notify"}})
    output.event({"event": "runner_on_ok", "event_data": data, HOOK_KEY: "post-deploy"})
    output.event({"event": "runner_on_ok", "event_data": {**data, "res": {"msg": "ours"}}})
    lines = stream.getvalue().splitlines()
    assert lines == ["--> Notify", "    10.0.0.1  | hello", "    10.0.0.1  | world"]


def test_quiet_keeps_only_errors() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, quiet=True)
    for event in _events():
        output.event(event)
    output.say("--> kdeploy setup")
    output.summary(_result(), 1)
    lines = stream.getvalue().splitlines()
    # The failures as they came, then what failed per host (the error line names only hosts).
    assert lines == [
        "    10.0.0.2  FAILED: Start the container.: token hunter2 bad",
        "    10.0.0.3  UNREACHABLE: no route to host (ssh: connect to host 10.0.0.3 port 22: "
        "No route to host)",
        "--> kdeploy failed on 2 hosts in 1.5 s:",
        "    10.0.0.2  Start the container: bad",
        "    10.0.0.3 unreachable at 'Start the container.' (play 'Boot web'): no route to host "
        "(ssh: connect to host 10.0.0.3 port 22: No route to host)"]


def test_verbose_shows_every_task() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, verbose=True)
    for event in _events():
        output.event(event)
    assert "      10.0.0.1  Start the container.: changed" in stream.getvalue().splitlines()
    assert "      10.0.0.1  Wait for health.: ok" in stream.getvalue().splitlines()
    assert ("      10.0.0.1  Write the env file.: ok (result hidden: no_log)"
            in stream.getvalue().splitlines())


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(events.schema_path().read_text()))


def test_json_output_is_one_schema_v1_event_per_line_ending_with_the_summary() -> None:
    stream = io.StringIO()
    output = JsonOutput(stream=stream, redact=lambda text: text.replace("hunter2", "[REDACTED]"))
    output.run_start(RUN_INFO)
    for event in _events():
        output.event(event)
    output.summary(_result(), 1, error=("failed", "10.0.0.2 failed"))
    objects = _json_lines(stream)
    assert [item["type"] for item in objects] == [
        "run_start", "play_start", "host_result", "host_result", "host_result", "host_result",
        "host_result", "summary"]
    assert [item["seq"] for item in objects] == list(range(1, len(objects) + 1))
    assert all(item["schema_version"] == 1 for item in objects)
    assert objects[2] | {"time": "T"} == {
        "schema_version": 1, "type": "host_result", "time": "T", "seq": 3, "host": "10.0.0.1",
        "play": "Boot web", "task": "Start the container.", "task_uuid": "", "status": "changed",
        "changed": True, "ignored": False, "hidden": False, "duration": 0.0}
    assert (objects[4]["hidden"], objects[4]["changed"]) == (True, False)  # no stdout to read
    assert objects[5]["msg"] == "token [REDACTED] bad"
    assert objects[6]["reason"] == "no route to host"
    assert objects[6]["reason_detail"] == ("no route to host (ssh: connect to host 10.0.0.3 "
                                           "port 22: No route to host)")
    summary = objects[-1]
    assert (summary["command"], summary["version"], summary["image"]) == (
        "deploy", "v2", "reg/app:v2")
    assert summary["exit_code"] == 1 and summary["lock_held"] is False
    assert summary["error"] == {"kind": "failed", "message": "10.0.0.2 failed"}
    assert summary["hosts"]["10.0.0.1"] == {"ok": 2, "changed": 1, "failed": 0,
                                            "unreachable": 0, "skipped": 0, "state": "changed"}
    assert summary["hosts"]["10.0.0.3"]["state"] == "unreachable"
    assert [(f["host"], f["reason"]) for f in summary["failures"]] == [
        ("10.0.0.2", "failed"), ("10.0.0.3", "unreachable")]
    assert summary["failures"][1]["play"] == "Boot web"
    assert "hunter2" not in stream.getvalue()
    assert [error.message for item in objects for error in _validator().iter_errors(item)] == []
    assert output.terminal_written


RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "runner_events" / "local_run.jsonl"


def _recorded() -> list[dict[str, Any]]:
    # Captured once from ansible-runner on a local playbook: ok, changed, skipped, debug, an
    # ignored and a real failure, an unreachable host, a no_log task and a no_log loop.
    return [json.loads(line) for line in RECORDED.read_text().splitlines()]


def _recorded_output() -> list[dict[str, Any]]:
    stream = io.StringIO()
    output = JsonOutput(stream=stream)
    output.run_start(RUN_INFO)
    output.say("--> Running hook pre-deploy (.kamal/hooks/pre-deploy)")
    output.say("    hook output line")
    output.notice("Tag v2 already exists")
    for event in _recorded():
        output.event(event)
    output.summary(RunResult(status="failed", stats=_recorded()[-1]["event_data"],
                             failures=[HostFailure("gone", "Read the state.",
                                                   "Shared connection to gone closed.\nboom")]),
                   2)
    return _json_lines(stream)


def test_every_event_from_a_recorded_run_validates_against_the_schema() -> None:
    objects = _recorded_output()
    errors = [(item["seq"], error.message) for item in objects
              for error in _validator().iter_errors(item)]
    assert errors == []
    assert {item["type"] for item in objects} == {
        "run_start", "message", "play_start", "task_start", "host_result", "summary"}
    assert objects[-1]["type"] == "summary" and objects[-1]["seq"] == len(objects)
    times = [datetime.fromisoformat(item["time"]) for item in objects]
    assert times[4:] == sorted(times[4:])  # the runner's own moments, in order


def test_recorded_results_say_what_happened_per_host() -> None:
    results = {(item["host"], item["task"]): item for item in _recorded_output()
               if item["type"] == "host_result"}
    assert results["local1", "Read the state."]["status"] == "ok"
    assert results["local1", "Start the container."]["status"] == "changed"
    # no_log hides the result; the line Ansible printed still says it changed.
    assert (results["local1", "Write the env file."]["hidden"],
            results["local1", "Write the env file."]["status"]) == (True, "changed")
    assert results["local1", "Skip the proxy."]["status"] == "skipped"
    assert results["local1", "Say what runs."]["msg"] == "app-web-v2 runs"
    assert "msg" not in results["local1", "Read the state."]
    assert results["local1", "Probe that may fail."]["ignored"] is True
    assert results["local1", "Fail at last."]["msg"] == "boom"
    assert results["gone", "Read the state."]["status"] == "unreachable"
    assert results["gone", "Read the state."]["reason"] == "connection refused"


def test_json_text_carries_no_decoration_or_ssh_chatter() -> None:
    objects = _recorded_output()
    assert [item["text"] for item in objects if item["type"] == "message"] == [
        "Running hook pre-deploy (.kamal/hooks/pre-deploy)", "hook output line",
        "Tag v2 already exists"]
    assert objects[-1]["failures"][0]["message"] == "boom"
    text = json.dumps(objects)
    assert "--> " not in text and "Shared connection" not in text


def test_a_held_lock_is_a_failure_with_its_holder_in_the_summary() -> None:
    stream = io.StringIO()
    output = JsonOutput(stream=stream)
    output.run_start(RUN_INFO)
    details = ("Deploy lock already in place!\nLocked by: Jane at 2026-12-06T08:30:00Z\n"
               "Version: v1\nMessage: Automatic deploy lock (jane@example.com)")
    output.summary(RunResult(status="failed", lock_held=details), 3,
                   error=("lock_held", details))
    (summary,) = _json_lines(stream)[1:]
    assert summary["lock_held"] is True
    assert summary["lock"] == {"locked_by": "Jane", "since": "2026-12-06T08:30:00Z",
                               "version": "v1",
                               "message": "Automatic deploy lock (jane@example.com)",
                               "automatic": True}
    assert summary["failures"] == [{"host": "10.0.0.1", "task": "Take the deploy lock.",
                                    "reason": "lock_held", "message": details}]
    assert list(_validator().iter_errors(summary)) == []


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


def test_vv_shows_ansibles_own_lines_redacted_instead_of_the_task_lines() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, ansible_output=True,
                         redact=lambda text: text.replace("hunter2", "[REDACTED]"))
    for event in _events():
        output.event({**event, "stdout": f"ansible: {event['event']} hunter2"})
    lines = stream.getvalue().splitlines()
    assert "ansible: runner_on_ok [REDACTED]" in lines
    assert "      10.0.0.1  Start the container.: changed" not in lines  # -v's, not -vv's
    assert "hunter2" not in stream.getvalue()


def test_a_failed_run_without_a_host_failure_says_ansible_playbooks_status() -> None:
    stream = io.StringIO()
    output = HumanOutput(stream=stream)
    output.run_start(INFO)
    output.summary(RunResult(status="failed", rc=4, duration=0.5), 1)
    assert stream.getvalue().splitlines()[-1] == (
        "--> kdeploy deploy failed in 0.5 s (ansible-playbook ended with status failed)")
