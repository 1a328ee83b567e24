"""The time left of a health wait, said again every 5 s: timed with an injected clock."""

from __future__ import annotations

import io
from typing import Any

from kdeploy.output import HumanOutput, JsonOutput
from kdeploy.plan.deploy import BOOT_PLAY
from kdeploy.run.health_wait import HealthWaits
from kdeploy.run.result import RunResult
from kdeploy.run.runner import IDLE_EVENT

PLAY = BOOT_PLAY  # the first boot play: each host releases its first role, web here
RELEASE = "kdeploy.deploy.release"
INFO = {"command": "deploy", "service": "app", "version": "v2", "image": "reg/app:v2",
        "hosts": ["10.0.0.1", "10.0.0.2"], "roles": {"web": ["10.0.0.1", "10.0.0.2"]},
        "check": False, "diff": False, "ansible_args": [],
        "health": {"web": {"container": "app-web-v2", "timeout": 30}}}
IDLE = {"event": IDLE_EVENT}


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _release(kind: str, host: str, **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "play": PLAY, "task": "Boot.",
                                          "resolved_action": RELEASE, "res": res}}


def test_a_wait_is_due_every_interval_with_the_whole_seconds_left() -> None:
    clock = Clock()
    waits = HealthWaits(clock)
    waits.start("10.0.0.1", "app-web-v2", 30)
    clock.now += 4.9
    assert waits.due() == []
    clock.now += 0.2
    assert [(wait.host, left) for wait, left in waits.due()] == [("10.0.0.1", 24)]
    assert waits.due() == []  # said once per interval
    clock.now += 5
    assert [left for _, left in waits.due()] == [19]


def test_a_late_tick_says_a_wait_once_and_keeps_the_pace() -> None:
    clock = Clock()
    waits = HealthWaits(clock)
    waits.start("10.0.0.1", "app-web-v2", 60)
    clock.now += 17  # three reminders were due: one line, the next at 20 s
    assert [left for _, left in waits.due()] == [43]
    clock.now += 2.5
    assert waits.due() == []
    clock.now += 0.5
    assert [left for _, left in waits.due()] == [40]


def test_an_ended_wait_or_a_spent_budget_says_nothing() -> None:
    clock = Clock()
    waits = HealthWaits(clock)
    waits.start("10.0.0.1", "app-web-v2", 5)
    waits.start("10.0.0.2", "app-web-v2", 30)
    waits.end("10.0.0.2")
    clock.now += 5
    assert waits.due() == []  # 10.0.0.1 has 0 s left: its answer is about to come
    waits.start("10.0.0.2", "app-web-v2", 30)
    waits.clear()
    clock.now += 10
    assert waits.due() == []


def _output(clock: Clock, **options: Any) -> tuple[HumanOutput, io.StringIO]:
    stream = io.StringIO()
    output = HumanOutput(stream=stream, clock=clock, **options)
    output.run_start(INFO)
    output.event({"event": "playbook_on_play_start", "event_data": {"play": PLAY}})
    return output, stream


def test_the_output_says_the_time_left_per_waiting_host_until_its_result_arrives() -> None:
    clock = Clock()
    output, stream = _output(clock)
    output.event(_release("runner_on_start", "10.0.0.1"))
    clock.now += 2
    output.event(_release("runner_on_start", "10.0.0.2"))
    clock.now += 3
    output.event(IDLE)
    clock.now += 2
    output.event(IDLE)
    output.event(_release("runner_on_ok", "10.0.0.1", changed=True))
    clock.now += 5
    output.event(IDLE)
    output.event(_release("runner_on_ok", "10.0.0.2", changed=True))
    clock.now += 10
    output.event(IDLE)
    assert stream.getvalue().splitlines()[2:] == [
        "    10.0.0.1  waiting up to 30 seconds for app-web-v2 to be healthy",
        "    10.0.0.2  waiting up to 30 seconds for app-web-v2 to be healthy",
        "    10.0.0.1  still waiting for app-web-v2 to be healthy (25 s left)",
        "    10.0.0.2  still waiting for app-web-v2 to be healthy (25 s left)",
        "    10.0.0.1  app-web-v2 is healthy (0.0 s)",
        "    10.0.0.2  still waiting for app-web-v2 to be healthy (20 s left)",
        "    10.0.0.2  app-web-v2 is healthy (0.0 s)"]


def test_a_failed_release_ends_its_wait_too() -> None:
    clock = Clock()
    output, stream = _output(clock)
    output.event(_release("runner_on_start", "10.0.0.1"))
    output.event(_release("runner_on_failed", "10.0.0.1", msg="boom"))
    clock.now += 6
    output.event(IDLE)
    assert "still waiting" not in stream.getvalue()


def test_nothing_is_said_after_the_playbook_or_the_command_ended() -> None:
    for ending in ({"event": "playbook_on_stats", "event_data": {}},
                   {"event": "playbook_on_start", "event_data": {}}, None):
        clock = Clock()
        output, stream = _output(clock)
        output.event(_release("runner_on_start", "10.0.0.1"))
        if ending is None:
            output.summary(RunResult(status="canceled", duration=1.0), 130)
        else:
            output.event(ending)
        clock.now += 6
        output.event(IDLE)
        assert "still waiting" not in stream.getvalue(), ending


def test_quiet_and_json_say_nothing_of_a_wait() -> None:
    clock = Clock()
    output, stream = _output(clock, quiet=True)
    output.event(_release("runner_on_start", "10.0.0.1"))
    clock.now += 6
    output.event(IDLE)
    assert stream.getvalue() == ""
    stream = io.StringIO()
    json_output = JsonOutput(stream=stream)
    json_output.event(_release("runner_on_start", "10.0.0.1"))
    json_output.event(IDLE)
    assert stream.getvalue() == ""


def test_an_idle_tick_alone_prints_nothing_not_even_the_plays_header() -> None:
    clock = Clock()
    output, stream = _output(clock)
    before = stream.getvalue()
    clock.now += 60
    output.event(IDLE)
    assert stream.getvalue() == before
