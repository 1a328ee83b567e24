from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ansible_runner
import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.plan import SetupOptions, build_setup_plan
from kdeploy.run.runner import run_plan
from kdeploy.run.secret_pipe import FIFO_ENV

REPO = Path(__file__).resolve().parents[2]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _result(kind: str, host: str, **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "task": "Boot", "res": res}}


@pytest.fixture
def plan_and_config():  # type: ignore[no-untyped-def]
    config = load_config(FIXTURES / "deploy_founding_case.yml", version="v1", environ={})
    return config, build_setup_plan(context(config), SetupOptions(skip_push=True))


def _fake_run(events: list[dict[str, Any]], status: str, seen: dict[str, Any]):  # type: ignore[no-untyped-def]
    def run(**kwargs: Any) -> SimpleNamespace:
        seen.update(kwargs)
        with open(kwargs["envvars"][FIFO_ENV], encoding="utf-8") as pipe:
            seen["secrets"] = pipe.read()
        seen["files"] = {str(path.relative_to(kwargs["private_data_dir"])): path
                         for path in Path(kwargs["private_data_dir"]).rglob("*")
                         if path.is_file()}
        seen["contents"] = b"".join(path.read_bytes() for path in seen["files"].values())
        link = Path(kwargs["private_data_dir"], "project", "collections", "ansible_collections",
                    "kdeploy", "deploy")
        seen["collection"] = link.resolve() if link.is_symlink() else None
        for event in events:
            kwargs["event_handler"](event)
        return SimpleNamespace(status=status, rc=0 if status == "successful" else 2, stdout=None)

    return run


def test_a_run_writes_the_private_data_dir_and_reads_stats(
    monkeypatch: pytest.MonkeyPatch, plan_and_config: Any,
) -> None:
    config, plan = plan_and_config
    seen: dict[str, Any] = {}
    stats = {"event": "playbook_on_stats",
             "event_data": {"ok": {"10.0.0.1": 4}, "changed": {"10.0.0.1": 1}}}
    monkeypatch.setattr(ansible_runner, "run", _fake_run([stats], "successful", seen))
    events: list[dict[str, Any]] = []
    result = run_plan(config, plan, {"KDEPLOY_SECRET_X": "topsecret"}, events.append)
    assert result.ok
    assert result.per_host()["10.0.0.1"]["changed"] == 1
    assert events == [stats]
    assert seen["cmdline"] == "setup.yml"
    assert seen["suppress_env_files"] is True
    assert {"inventory/hosts.yml", "env/extravars"} <= set(seen["files"])
    # One copy of the plays: the parts and roles are the collection's, reached through a link.
    assert {name for name in seen["files"] if name.startswith("project/")} == {
        "project/setup.yml", "project/ansible.cfg", "project/ssh_config"}
    assert seen["collection"] == REPO
    assert seen["secrets"] == '{"KDEPLOY_SECRET_X": "topsecret"}'
    assert b"topsecret" not in seen["contents"]
    assert "topsecret" not in repr(seen["envvars"])


def test_failures_unreachable_hosts_and_a_held_lock_are_told_apart(
    monkeypatch: pytest.MonkeyPatch, plan_and_config: Any,
) -> None:
    config, plan = plan_and_config
    events = [
        _result("runner_on_failed", "10.0.0.1", msg="Deploy lock already in place! Locked by: x"),
        _result("runner_on_failed", "10.0.0.2", msg="ignored", ) | {"event_data": {
            "host": "10.0.0.2", "task": "Probe", "ignore_errors": True, "res": {}}},
        _result("runner_on_unreachable", "10.0.0.9", msg="No route to host"),
        _result("runner_on_failed", "10.0.0.3", msg="Docker is not installed on 10.0.0.3"),
    ]
    monkeypatch.setattr(ansible_runner, "run", _fake_run(events, "failed", {}))
    result = run_plan(config, plan, {}, lambda event: None)
    assert not result.ok
    assert result.lock_held is not None and result.lock_held.startswith("Deploy lock")
    assert [(f.host, f.unreachable) for f in result.failures] == [
        ("10.0.0.9", True), ("10.0.0.3", False)]


def test_the_temporary_directory_is_gone_after_the_run(
    monkeypatch: pytest.MonkeyPatch, plan_and_config: Any,
) -> None:
    config, plan = plan_and_config
    seen: dict[str, Any] = {}
    monkeypatch.setattr(ansible_runner, "run", _fake_run([], "successful", seen))
    run_plan(config, plan, {}, lambda event: None)
    assert not os.path.exists(seen["private_data_dir"])
