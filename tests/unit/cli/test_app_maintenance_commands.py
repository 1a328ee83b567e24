"""`kdeploy app maintenance` and `app live` with a stubbed runner: options, lock, exit codes."""

from __future__ import annotations

import pytest
from stub_runner import StubRunner
from test_app_commands import FIXTURES, run


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def test_maintenance_passes_kamals_options_under_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": {}})
    result = run(monkeypatch, stub, "app", "maintenance", "--drain-timeout", "2.5",
                 "--message", "Back at 5", "-q")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert (plan.command, plan.lock_host, plan.limit) == (
        "app maintenance", "10.0.3.1", "10.0.3.1,10.0.3.2")
    assert plan.extravars["app_ops_proxy_stop_args"] == ["--drain-timeout=2.5s",
                                                         "--message=Back at 5"]


def test_live_runs_locked_on_the_proxy_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.2": {}})
    result = run(monkeypatch, stub, "app", "live", "-h", "10.0.3.2", "-q")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert (plan.command, plan.lock_host, plan.limit) == ("app live", "10.0.3.2", "10.0.3.2")


@pytest.mark.parametrize(("args", "message"), [
    (("maintenance", "--drain-timeout", "soon"),
     "expected a number, got 'soon'"),
    (("maintenance", "-r", "workers"), "ERROR: No proxy hosts inside the filters"),
    (("live", "-r", "workers"), "ERROR: No proxy hosts inside the filters"),
])
def test_usage_errors_exit_2_before_running(monkeypatch: pytest.MonkeyPatch,
                                            args: tuple[str, ...], message: str) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "app", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert stub.plans == []
