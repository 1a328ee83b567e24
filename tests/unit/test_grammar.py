"""Counts and nouns agree in the human output of the recorded runs (and the check itself works).

Every CliRunner command of the unit tests is checked too (tests/unit/conftest.py), and every
kdeploy command of the e2e tests (`Project.run`).
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import pytest

from kdeploy.output import HumanOutput
from kdeploy.run.result import HostFailure, RunResult

_SPEC = importlib.util.spec_from_file_location(
    "grammar_rules", Path(__file__).resolve().parents[1] / "e2e" / "grammar.py")
assert _SPEC is not None and _SPEC.loader is not None
grammar = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(grammar)

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "runner_events" / "local_run.jsonl"
INFO = {"command": "deploy", "service": "app", "version": "v5", "image": "reg/app:v5",
        "ansible_args": ["--limit", "10.0.0.1"], "check": False, "diff": False}


def _recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDED.read_text().splitlines()]


@pytest.mark.parametrize("hosts", [1, 2, 12])
@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("failed", [False, True])
def test_recorded_runs_print_counts_in_agreement(hosts: int, verbose: bool, failed: bool) -> None:
    names = [f"10.0.0.{number}" for number in range(1, hosts + 1)]
    info = {**INFO, "hosts": names, "roles": {"web": names[:1], "job": names[1:]},
            "health": {"web": {"container": "app-web-v5", "timeout": 1}}}
    stream = io.StringIO()
    output = HumanOutput(stream=stream, verbose=verbose)
    output.run_start(info)
    for event in _recorded():
        output.event(event)
    failures = [HostFailure("gone", "Read the state.", "boom", unreachable=True)] if failed else []
    output.summary(RunResult(status="failed" if failed else "successful", duration=1.0,
                             stats=_recorded()[-1]["event_data"], failures=failures),
                   int(failed))
    text = stream.getvalue()
    assert "1 task)" in text  # the recorded run has a play with one task on a host
    assert grammar.grammar_slips(text) == []


def test_the_check_finds_each_kind_of_slip_and_leaves_addresses_alone() -> None:
    assert grammar.grammar_slips("10.0.0.1  done (1 tasks)") == ["1 tasks"]
    assert grammar.grammar_slips("to web (3 host)") == ["3 host"]
    assert grammar.grammar_slips("(0 host), 12 container, 1 more tasks") == [
        "1 more tasks", "0 host", "12 container"]
    assert grammar.grammar_slips("10.0.0.2 host, v2 image, 1 task, 2 hosts, 1 second") == []
