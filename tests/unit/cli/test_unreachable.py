"""A host found unreachable by a no_log task: kdeploy asks ssh again, and says why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kdeploy.plan import Plan, PlaybookImport
from kdeploy.run import ssh_errors
from kdeploy.run.result import HostFailure, RunResult
from kdeploy.run.ssh_errors import classify_ssh_error
from kdeploy.run.unreachable import CHECK_PLAYBOOK, explain_unreachable

ANSIBLE = json.loads((Path(__file__).parents[2] / "fixtures" / "ssh_errors" /
                      "ansible_unreachable.json").read_text())
PLAN = Plan(command="deploy", imports=(PlaybookImport("app.yml", ("app",)),), tags=("app",),
            limit="web", secret_names=("DB_PASSWORD",), notices=("a notice",), entry="x")


class Check:
    """Stands in for run_plan: records the plan and reports the given hosts unreachable."""

    def __init__(self, unreachable: dict[str, str]) -> None:
        self.unreachable = unreachable
        self.plans: list[Plan] = []

    def __call__(self, config: Any, plan: Plan, secrets: Any, on_event: Any) -> RunResult:
        assert secrets == {}
        self.plans.append(plan)
        return RunResult(status="failed", failures=[
            HostFailure(host, "Connect over ssh.", message, unreachable=True)
            for host, message in self.unreachable.items()])


def test_hosts_whose_message_was_hidden_get_sshs_own() -> None:
    hidden = HostFailure("10.0.0.2", "Boot the version.", "unreachable", unreachable=True,
                         play="Boot the app: web")
    told = HostFailure("10.0.0.3", "Boot the version.", ANSIBLE["refused"], unreachable=True)
    failed = HostFailure("10.0.0.1", "Boot the version.", "unhealthy")
    result = RunResult(status="failed", failures=[failed, hidden, told])
    check = Check({"10.0.0.2": ANSIBLE["changed"]})

    explain_unreachable(None, PLAN, result, check)  # type: ignore[arg-type]

    (plan,) = check.plans
    assert plan.imports == (PlaybookImport(CHECK_PLAYBOOK, ()),)
    assert (plan.limit, plan.tags, plan.secret_names, plan.notices) == ("10.0.0.2", (), (), ())
    assert plan.playbook == "deploy_connection_check.yml"
    # The step stays the one the run failed at; the message is now ssh's.
    assert (hidden.task, hidden.play, hidden.message) == (
        "Boot the version.", "Boot the app: web", ANSIBLE["changed"])
    assert told.message == ANSIBLE["refused"] and failed.message == "unhealthy"


def test_mitogens_host_key_message_is_replaced_by_sshs() -> None:
    mitogen = HostFailure("10.0.0.2", "Boot.", ANSIBLE["mitogen_changed"], unreachable=True)
    check = Check({"10.0.0.2": ANSIBLE["changed"]})
    explain_unreachable(None, PLAN, RunResult(failures=[mitogen]),  # type: ignore[arg-type]
                        check)
    assert check.plans[0].limit == "10.0.0.2"
    assert mitogen.message == ANSIBLE["changed"]


def test_a_new_key_mitogen_refused_and_the_check_recorded_says_run_again() -> None:
    mitogen = HostFailure("10.0.0.2", "Boot.", ANSIBLE["mitogen_new"], unreachable=True)
    explain_unreachable(None, PLAN, RunResult(failures=[mitogen]),  # type: ignore[arg-type]
                        Check({}))
    fault = classify_ssh_error(mitogen.message, "10.0.0.2")
    assert fault.reason == ssh_errors.HOST_KEY_RECORDED and fault.host_key
    assert (fault.fix or "").startswith("run again: 10.0.0.2's key is in your known_hosts now")


def test_a_host_that_answers_now_keeps_its_message() -> None:
    hidden = HostFailure("10.0.0.2", "Boot the version.", "unreachable", unreachable=True)
    explain_unreachable(None, PLAN, RunResult(failures=[hidden]),  # type: ignore[arg-type]
                        Check({}))
    assert hidden.message == "unreachable"


def test_nothing_runs_when_every_message_says_why() -> None:
    check = Check({})
    result = RunResult(failures=[HostFailure("h", "t", ANSIBLE["timeout"], unreachable=True),
                                 HostFailure("g", "t", "failed")])
    explain_unreachable(None, PLAN, result, check)  # type: ignore[arg-type]
    assert check.plans == []


def test_the_recorded_key_reads_as_one_line_and_a_fix() -> None:
    fault = classify_ssh_error(ssh_errors.RECORDED_BY_CHECK, "web1")
    assert fault.summary() == "new host key refused by mitogen, now recorded"
