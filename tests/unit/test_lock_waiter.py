"""`--lock-wait`: Kamal 2.12's wait for a held deploy lock, with a fake clock and a stub runner.

Kamal's behaviour (lib/kamal/cli/base.rb `acquire_lock_with_wait`, test/cli/main_test.rb): say
the holder once, give up at once on a lock taken by hand, retry every interval until the
timeout (timeout 0: exactly one try), sleeping `min(interval, remaining)`.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
import kdeploy.run.lock_wait as lock_wait_module
from kdeploy.errors import LockHeldManually, LockWaitTimedOut
from kdeploy.events import schema_path
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.run.lock_wait import LockWait, LockWaiter, held_details, lock_try_plan, takes_lock
from kdeploy.run.process_owner import SignalReceived
from kdeploy.run.result import HostFailure, RunResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
CONFIG = ("-c", "deploy_with_roles.yml")
ENV = {"KAMAL_REGISTRY_PASSWORD": "hunter2hunter2"}
LOCK_HOST = "10.0.0.1"


def held(message: str) -> str:
    """The lock role's refusal for a lock with `message`."""
    return ("Deploy lock already in place!\nLocked by: ops@example.com at 2026-12-06T08:00:00Z\n"
            f"Version: v1\nMessage: {message}\nDeploy lock found on {LOCK_HOST}.")


AUTOMATIC = held("Automatic deploy lock (ops@example.com)")
MANUAL = held("fixing the database")


class FakeTime:
    """A monotonic clock that only `sleep` moves, plus what each try costs."""

    def __init__(self, try_cost: float = 0.0) -> None:
        self.now = 1000.0
        self.try_cost = try_cost
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Tries:
    """A stand-in for run_plan: each lock try takes the next answer; other plans succeed."""

    def __init__(self, answers: list[str], clock: FakeTime,
                 step: RunResult | None = None) -> None:
        self.answers, self.clock = list(answers), clock
        self.step = step or RunResult(status="successful")
        self.plans: list[Plan] = []

    def __call__(self, config, plan: Plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        if plan.command.endswith("_release_lock"):
            return RunResult(status="successful")
        if not plan.command.endswith("_lock_wait"):
            return self.step
        self.clock.now += self.clock.try_cost
        answer = self.answers.pop(0)
        on_event({"event": "playbook_on_play_start",
                  "event_data": {"play": "Acquire the deploy lock", "play_pattern": LOCK_HOST}})
        if answer == "free":
            return RunResult(status="successful", stats={"ok": {LOCK_HOST: 2}})
        if answer == "unreachable":
            on_event({"event": "runner_on_unreachable", "event_data": {
                "host": LOCK_HOST, "task": "Take the deploy lock.",
                "res": {"msg": "Failed to connect to the host via ssh: Connection refused"}}})
            return RunResult(status="failed", rc=4, failures=[HostFailure(
                LOCK_HOST, "Take the deploy lock.", "Connection refused", unreachable=True)])
        return RunResult(status="failed", rc=2, lock_held=answer,
                         stats={"failures": {LOCK_HOST: 1}})

    def commands(self) -> list[str]:
        return [plan.command for plan in self.plans]


class Said:
    """The output: lines said and waiting states, in order."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.states: list[dict[str, Any]] = []

    def say(self, text: str) -> None:
        self.lines.append(text)

    def waiting(self, state: dict[str, Any]) -> None:
        self.states.append(state)
        self.lines.append(f"waiting {state['attempt']}")


def deploy_plan() -> Plan:
    imports = (PlaybookImport("proxy_check.yml", ("proxy",)),
               PlaybookImport("lock_acquire.yml", ("lock",)),
               PlaybookImport("lock_release.yml", ("lock",)))
    return Plan(command="deploy", imports=imports,
                extravars={"kdeploy_run_id": "r1", "kdeploy_lock_host": LOCK_HOST},
                limit="10.0.0.1,10.0.0.2", lock_host=LOCK_HOST, tags=("app",),
                secret_names=("S",))


def waiter(answers: list[str], settings: LockWait, try_cost: float = 0.0,
           ) -> tuple[LockWaiter, Tries, Said, FakeTime, list[dict[str, Any]]]:
    clock = FakeTime(try_cost)
    tries, said, shown = Tries(answers, clock), Said(), []
    config = SimpleNamespace(config_file=Path("config/deploy.yml"), destination=None)
    lock_waiter = LockWaiter(config, deploy_plan(), settings, said, shown.append, tries,  # type: ignore[arg-type]
                             clock=clock.monotonic, sleep=clock.sleep)
    return lock_waiter, tries, said, clock, shown


def test_waits_while_held_then_runs_the_step_once_the_lock_is_taken() -> None:
    lock_waiter, tries, said, clock, shown = waiter(
        [AUTOMATIC, AUTOMATIC, "free"], LockWait(timeout=30, interval=10), try_cost=2.0)
    result = lock_waiter.run(None, deploy_plan(), {"S": "x"}, shown.append)
    assert result.ok and lock_waiter.error is None
    assert tries.commands() == ["deploy_lock_wait"] * 3 + ["deploy"]
    # Kamal's words; the holder once; one line per refused try.
    assert said.lines == [
        "--> Acquiring the deploy lock (waiting up to 30s)...",
        "--> Deploy lock is held by:",
        "    Locked by: ops@example.com at 2026-12-06T08:00:00Z",
        "    Version: v1",
        "    Message: Automatic deploy lock (ops@example.com)",
        "waiting 1", "waiting 2"]
    # remaining = int(deadline - now) after each try (tries cost 2 s here).
    assert [(s["remaining"], s["next_poll_in"], s["waited"]) for s in said.states] == [
        (28, 10, 2.0), (16, 10, 14.0)]
    assert clock.sleeps == [10, 10]
    assert said.states[0]["holder"] == {
        "locked_by": "ops@example.com", "since": "2026-12-06T08:00:00Z", "version": "v1",
        "message": "Automatic deploy lock (ops@example.com)", "automatic": True}
    assert {key: said.states[0][key] for key in ("reason", "host", "timeout", "interval")} == {
        "reason": "lock", "host": LOCK_HOST, "timeout": 30, "interval": 10}
    assert shown == []  # the tries' own events stay hidden


def test_the_last_sleep_is_cut_to_the_time_left_then_it_times_out() -> None:
    lock_waiter, tries, said, clock, _ = waiter([AUTOMATIC] * 4, LockWait(timeout=25, interval=10))
    result = lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert clock.sleeps == [10, 10, 5]
    assert result.lock_held == AUTOMATIC and not result.ok
    assert isinstance(lock_waiter.error, LockWaitTimedOut)
    assert lock_waiter.error.kind == "lock_timeout" and lock_waiter.error.exit_code == 3
    assert lock_waiter.error.message.startswith(
        "Timed out after 25s waiting for the deploy lock\nDeploy lock already in place!\n"
        "Locked by: ops@example.com")
    assert said.lines[-1] == "--> Timed out after 25s waiting for the deploy lock"
    assert tries.commands() == ["deploy_lock_wait"] * 4  # the step never ran


def test_timeout_zero_tries_exactly_once() -> None:
    lock_waiter, tries, said, clock, _ = waiter([AUTOMATIC], LockWait(timeout=0, interval=15))
    lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert tries.commands() == ["deploy_lock_wait"]
    assert clock.sleeps == [] and said.states == []
    assert isinstance(lock_waiter.error, LockWaitTimedOut)


def test_a_lock_taken_by_hand_is_not_waited_for() -> None:
    lock_waiter, tries, said, clock, _ = waiter([MANUAL], LockWait(timeout=900, interval=15))
    result = lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert result.lock_held == MANUAL
    assert isinstance(lock_waiter.error, LockHeldManually)
    assert lock_waiter.error.kind == "lock_manual" and lock_waiter.error.exit_code == 3
    assert lock_waiter.error.message.startswith("Deploy lock held manually, not waiting")
    assert "Message: fixing the database" in lock_waiter.error.message
    assert clock.sleeps == [] and said.states == []
    assert "    Message: fixing the database" in said.lines
    assert tries.commands() == ["deploy_lock_wait"]


def test_an_unreachable_lock_host_ends_the_wait_and_is_shown() -> None:
    lock_waiter, tries, _, clock, shown = waiter(["unreachable"], LockWait())
    result = lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert not result.ok and result.failures[0].unreachable
    assert lock_waiter.error is None and clock.sleeps == []
    assert [event["event"] for event in shown] == ["playbook_on_play_start",
                                                   "runner_on_unreachable"]
    assert tries.commands() == ["deploy_lock_wait"]


def test_a_stop_signal_while_sleeping_ends_the_wait_as_cancelled() -> None:
    lock_waiter, tries, _, _, _ = waiter([AUTOMATIC], LockWait(timeout=60, interval=5))

    def stopped(seconds: float) -> None:
        raise SignalReceived(signal.SIGTERM)

    lock_waiter._sleep = stopped
    result = lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert result.interrupted and result.signal == signal.SIGTERM and result.lock_held is None
    assert tries.commands() == ["deploy_lock_wait"]


def test_only_the_first_step_that_takes_the_lock_waits() -> None:
    lock_waiter, tries, _, _, _ = waiter(["free"], LockWait())
    before = Plan(command="deploy", imports=(PlaybookImport("proxy_check.yml", ("proxy",)),))
    lock_waiter.run(None, before, {}, lambda event: None)
    assert tries.commands() == ["deploy"]
    lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    lock_waiter.run(None, deploy_plan(), {}, lambda event: None)
    assert tries.commands() == ["deploy", "deploy_lock_wait", "deploy", "deploy"]


def test_a_try_is_the_lock_part_alone_on_the_lock_host_with_the_runs_vars() -> None:
    plan = lock_try_plan(deploy_plan())
    assert [entry.playbook for entry in plan.imports] == ["lock_acquire.yml"]  # type: ignore[union-attr]
    assert (plan.limit, plan.tags, plan.secret_names, plan.hook_points) == (LOCK_HOST, (), (), ())
    assert plan.extravars["kdeploy_run_id"] == "r1"
    assert takes_lock(deploy_plan()) and takes_lock(plan)
    assert not takes_lock(Plan(command="x",
                               imports=(PlaybookImport("lock_release.yml", ("lock",)),)))


def test_held_details_are_the_lines_between_the_roles_first_and_last() -> None:
    assert held_details(AUTOMATIC) == ("Locked by: ops@example.com at 2026-12-06T08:00:00Z\n"
                                       "Version: v1\nMessage: Automatic deploy lock "
                                       "(ops@example.com)")
    assert held_details("Deploy lock already in place!\n\nDeploy lock found on h.") == ""


# Through the command line: options, exit codes, the output people and machines see.


def kdeploy_cli():  # type: ignore[no-untyped-def]
    cli_package._register_commands()
    return cli_package.cli


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    monkeypatch.chdir(FIXTURES)
    clock = FakeTime()
    monkeypatch.setattr(lock_wait_module, "time", clock)
    return clock


def cli_run(monkeypatch: pytest.MonkeyPatch, clock: FakeTime, answers: list[str],
            *args: str, step: RunResult | None = None) -> tuple[Any, Tries]:
    tries = Tries(answers, clock, step)
    monkeypatch.setattr(execute_module, "run_plan", tries)
    result = CliRunner().invoke(kdeploy_cli(), ["deploy", "-P", "--version", "v2", *CONFIG,
                                                *args], env=ENV)
    return result, tries


def events(output: str) -> list[dict[str, Any]]:
    """The JSON lines, each valid against the shipped schema."""
    schema = json.loads(schema_path().read_text())
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    for line in lines:
        jsonschema.validate(line, schema)
    return lines


def test_cli_waits_then_deploys(monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime) -> None:
    result, tries = cli_run(monkeypatch, fake_time, [AUTOMATIC, "free"],
                            "--lock-wait", "--lock-wait-interval", "2")
    assert result.exit_code == 0, result.output
    assert tries.commands() == ["deploy_lock_wait", "deploy_lock_wait", "deploy"]
    assert fake_time.sleeps == [2]
    lines = result.output.splitlines()
    assert "--> Acquiring the deploy lock (waiting up to 900s)..." in lines
    assert lines.count("--> Deploy lock is held by:") == 1
    assert "--> Retrying in 2s (900s remaining)..." in lines


def test_cli_json_has_a_waiting_event_per_refused_try_and_exits_3_on_timeout(
        monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime) -> None:
    result, tries = cli_run(monkeypatch, fake_time, [AUTOMATIC] * 3, "--lock-wait",
                            "--lock-wait-timeout", "3", "--lock-wait-interval", "2",
                            "--output", "json")
    assert result.exit_code == 3, result.output
    assert "deploy" not in tries.commands()
    stream = events(result.stdout)
    assert stream[0]["type"] == "run_start"
    assert stream[0]["lock_wait"] == {"timeout": 3, "interval": 2}
    waiting = [event for event in stream if event["type"] == "waiting"]
    assert [(e["attempt"], e["remaining"], e["next_poll_in"]) for e in waiting] == [
        (1, 3, 2), (2, 1, 1)]
    summary = stream[-1]
    assert summary["type"] == "summary" and summary["exit_code"] == 3
    assert summary["lock_held"] is True and summary["lock"]["automatic"] is True
    assert summary["error"]["kind"] == "lock_timeout"
    assert "Timed out after 3s waiting for the deploy lock" in summary["error"]["message"]
    assert [failure["reason"] for failure in summary["failures"]] == ["lock_held"]


def test_cli_manual_lock_exits_3_at_once(monkeypatch: pytest.MonkeyPatch,
                                         fake_time: FakeTime) -> None:
    result, tries = cli_run(monkeypatch, fake_time, [MANUAL], "--lock-wait", "--output", "json")
    assert result.exit_code == 3, result.output
    assert tries.commands() == ["deploy_lock_wait"] and fake_time.sleeps == []
    stream = events(result.stdout)
    assert not [event for event in stream if event["type"] == "waiting"]
    assert stream[-1]["error"]["kind"] == "lock_manual"


def test_cli_human_error_names_the_holder(monkeypatch: pytest.MonkeyPatch,
                                          fake_time: FakeTime) -> None:
    result, _ = cli_run(monkeypatch, fake_time, [AUTOMATIC], "--lock-wait",
                        "--lock-wait-timeout", "0")
    assert result.exit_code == 3
    assert "ERROR: Timed out after 0s waiting for the deploy lock" in result.output
    assert "Locked by: ops@example.com" in result.output
    assert "Traceback" not in result.output


def test_cli_without_lock_wait_fails_at_once_as_before(monkeypatch: pytest.MonkeyPatch,
                                                       fake_time: FakeTime) -> None:
    held_run = RunResult(status="failed", rc=2, lock_held=AUTOMATIC)
    result, tries = cli_run(monkeypatch, fake_time, [], "--output", "json", step=held_run)
    assert result.exit_code == 3
    assert tries.commands() == ["deploy"]
    stream = events(result.stdout)
    assert stream[0]["lock_wait"] is None
    assert stream[-1]["error"]["kind"] == "lock_held"


def test_cli_a_step_failing_after_the_wait_releases_the_lock_the_wait_took(
        monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime) -> None:
    failed = RunResult(status="failed", rc=2, failures=[
        HostFailure("10.0.3.1", "Report a failed release.", "Failed to boot")])
    result, tries = cli_run(monkeypatch, fake_time, ["free"], "--lock-wait", step=failed)
    assert result.exit_code == 1, result.output
    assert tries.commands() == ["deploy_lock_wait", "deploy", "deploy_release_lock"]
    assert tries.plans[2].extravars["lock_owner_run"] == tries.plans[0].extravars["kdeploy_run_id"]


@pytest.mark.parametrize(("option", "value"), [("--lock-wait-timeout", "-1"),
                                               ("--lock-wait-interval", "0"),
                                               ("--lock-wait-interval", "soon")])
def test_cli_bad_lock_wait_values_are_usage_errors(monkeypatch: pytest.MonkeyPatch,
                                                   fake_time: FakeTime, option: str,
                                                   value: str) -> None:
    result, tries = cli_run(monkeypatch, fake_time, [], "--lock-wait", option, value)
    assert result.exit_code == 2
    assert option in result.output and tries.plans == []


def test_lock_acquire_does_not_wait(monkeypatch: pytest.MonkeyPatch,
                                    fake_time: FakeTime) -> None:
    # Kamal 2.12: `lock acquire` raises at once (cli/lock.rb, raise_if_locked).
    tries = Tries([], fake_time, RunResult(status="failed", rc=2, lock_held=AUTOMATIC))
    monkeypatch.setattr(execute_module, "run_plan", tries)
    result = CliRunner().invoke(kdeploy_cli(), ["lock", "acquire", "-m", "x", "--version", "v1",
                                                *CONFIG, "--lock-wait"], env=ENV)
    assert result.exit_code == 3, result.output
    assert tries.commands() == ["lock acquire"]
