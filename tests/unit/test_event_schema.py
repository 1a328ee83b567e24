"""The JSON event schema (schemas/events-v1.schema.json) and the envelope of kdeploy.events.

The samples are written by hand, one per event type (and per report); each rejected variant
changes one thing and names what the validator must say about it, so a schema that lets anything
through fails here.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any

import jsonschema
import pytest

from kdeploy import events

TIME = "2026-12-06T08:37:32.315Z"


def _schema() -> dict[str, Any]:
    return json.loads(events.schema_path().read_text())


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema())


def _event(type_: str, **fields: Any) -> dict[str, Any]:
    return events.envelope(type_, 1, fields, TIME)


HOLDER = {"locked_by": "ci@example.com", "since": "2026-12-06T08:30:00Z", "version": "v2",
          "message": "Automatic deploy lock", "automatic": True}
HOST_SUMMARY = {"ok": 12, "changed": 3, "failed": 0, "unreachable": 0, "skipped": 4,
                "state": "changed",
                "containers": {"before": [{"name": "app-web-v1", "image": "reg/app:v1",
                                           "state": "running"}],
                               "after": [{"name": "app-web-v1", "image": "reg/app:v1",
                                          "state": "running"}]},
                "pending": [{"kind": "app", "name": "web", "action": "replace", "from": "v1",
                             "to": "v2", "image": "reg/app:v2"},
                            {"kind": "accessory", "name": "db", "action": "replace",
                             "fields": [{"field": "port", "before": "5432", "after": "5433"},
                                        {"field": "env.DB_PASSWORD", "secret": True}]}]}
CONTAINER = {"id": "3f2a", "name": "app-web-v1", "image": "reg/app:v1", "state": "running",
             "status": "Up 2 minutes", "ports": "80/tcp",
             "created": "2026-12-06 08:30:00 +0000 UTC"}

SAMPLES: dict[str, dict[str, Any]] = {
    "run_start": _event(
        "run_start", command="deploy", kdeploy_version="0.1.0", service="app", version="v2",
        image="reg/app:v2", destination="staging", hosts=["10.0.0.1", "10.0.0.2"],
        lock_host="10.0.0.1", check=False, diff=False, lock_wait={"timeout": 900, "interval": 15},
        ansible_args=["-e", "kdeploy_version=v2"], run_id="5d0c2f1e"),
    "message": _event("message", level="info", text="Pushing reg/app:v2", source="build"),
    "play_start": _event("play_start", play="Deploy the app", hosts="kdeploy_app"),
    "task_start": _event("task_start", play="Deploy the app", task="Boot the new container",
                         action="kdeploy_release", task_uuid="0242ac11-0002-…"),
    "host_result": _event(
        "host_result", host="10.0.0.2", play="Deploy the app", task="Gather facts",
        task_uuid="0242ac11-0003", status="unreachable", changed=False, ignored=False,
        hidden=False, duration=10.2, msg="ssh: connect to host 10.0.0.2 port 22: timed out",
        reason="timeout", reason_detail="the host did not answer on port 22",
        fix="check that the host is up"),
    "waiting": _event("waiting", reason="lock", host="10.0.0.1", holder=HOLDER, attempt=2,
                      waited=15.0, remaining=885, next_poll_in=15, timeout=900, interval=15),
    "report": _event("report", report="app version", items=[
        {"host": "10.0.0.1", "role": "web", "version": "v1"},
        {"host": "10.0.0.2", "role": "web", "version": None}], text="App Host: 10.0.0.1\nv1"),
    "error": _event("error", exit_code=2, kind="config",
                    message="config/deploy.yml: servers: is required"),
    "summary": _event(
        "summary", command="deploy", check=True, version="v2", image="reg/app:v2",
        status="successful", hosts={"web1": HOST_SUMMARY}, pending_changes=True,
        failures=[{"host": "10.0.0.1", "task": "Take the deploy lock.", "reason": "lock_held",
                   "message": "Deploy lock already in place"}],
        lock_held=True, lock=HOLDER, error={"kind": "lock_held", "message": "held"},
        duration=12.5, exit_code=3),
    "config": _event(
        "config", roles=["web"], hosts=["10.0.0.1"], primary_host="10.0.0.1", version=None,
        repository="reg/app", absolute_image=None, service_with_version="app",
        role_hosts={"web": ["10.0.0.1"]}, accessory_hosts={"db": ["10.0.0.1"]}, checks="passed",
        exit_code=0),
}

# One item per report name, in its report's item shape.
REPORT_ITEMS: dict[str, dict[str, Any]] = {
    "details": {"host": "h1", "proxy": True, "containers": [CONTAINER]},
    "app details": {"host": "h1", "role": "web", "containers": [CONTAINER]},
    "app containers": {"host": "h1", "containers": []},
    "accessory details": {"host": "h1", "accessory": "db", "containers": [CONTAINER]},
    "proxy details": {"host": "h1", "proxy": True, "containers": [CONTAINER]},
    "app images": {"host": "h1", "images": [{"id": "sha256:1", "repository": "reg/app",
                                             "tag": "v1", "size": "80MB"}]},
    "app version": {"host": "h1", "role": "web", "version": "v1"},
    "app logs": {"host": "h1", "role": "web", "found": False, "output": ""},
    "app exec": {"host": "h1", "role": "web", "rc": 0, "output": "hello"},
    "accessory logs": {"host": "h1", "accessory": "db", "output": "ready"},
    "accessory exec": {"host": "h1", "accessory": "db", "rc": 1, "output": "no"},
    "proxy logs": {"host": "h1", "output": "started"},
    "proxy boot_config": {"host": "h1", "output": "--publish 80:80 basecamp/kamal-proxy:v0.9.2"},
    "server exec": {"host": "h1", "rc": 0, "output": "up 3 days"},
    "app stale_containers": {"host": "h1", "role": "web", "version": "v0", "stopped": True},
    "app ssh": {"host": "h1", "version": "v1", "command": "docker exec -it app-web-v1 sh",
                "ssh": ["ssh", "-t", "root@h1", "docker exec -it app-web-v1 sh"]},
    "accessory ssh": {"host": "h1", "command": "docker exec -it app-db sh",
                      "ssh": ["ssh", "-t", "root@h1", "docker exec -it app-db sh"]},
    "accessory boot": {"host": "h1", "accessory": "db", "outcome": "differs",
                       "differences": ["port", "env"]},
    "accessory reboot": {"host": "h1", "accessory": "db", "outcome": "rebooted",
                         "differences": []},
    "accessory upgrade": {"host": "h1", "accessory": "db", "outcome": "running",
                          "differences": []},
    "accessory remove": {"host": "h1", "accessory": "db", "outcome": "removed",
                         "differences": [], "kept": ["volume dbdata"]},
    "remove": {"host": "h1", "accessory": "db", "outcome": "purged", "differences": []},
    "lock acquire": {"host": "h1", "locked": True},
    "lock release": {"host": "h1", "locked": False, "released": True},
    "lock status": {"host": "h1", "locked": True, "holder": HOLDER},
    "audit": {"host": "h1", "lines": ["[2026-12-06T08:30:00Z] [ci] Deployed app@v1"]},
    "build pull": {"host": "h1", "image": "reg/app:v1", "label": "app"},
    "build push": {"host": "local", "image": "reg/app:v1", "tags": ["reg/app:v1",
                                                                     "reg/app:latest"]},
    "interrupted": {"host": "h1", "state": "settled", "running": ["app-web-v1"],
                    "stopped": [], "cut": [], "killed": [], "docker_waited": [],
                    "problem": None},
}


def _report(name: str, item: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"report": name, "items": [item]}
    if name == "interrupted":
        fields["signal"] = "SIGINT"
    return _event("report", **fields)


def _errors(event: dict[str, Any]) -> list[str]:
    return [error.message for error in _validator().iter_errors(event)]


def test_the_schema_is_valid_json_schema_2020_12() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_names_exactly_the_event_types_and_version_of_the_code() -> None:
    schema = _schema()
    assert schema["properties"]["type"]["enum"] == list(events.EVENT_TYPES)
    assert schema["properties"]["schema_version"]["const"] == events.EVENT_SCHEMA_VERSION
    assert events.schema_path().name == f"events-v{events.EVENT_SCHEMA_VERSION}.schema.json"
    assert set(events.TERMINAL_TYPES) <= set(events.EVENT_TYPES)


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(events.EVENT_TYPES)


@pytest.mark.parametrize("kind", events.EVENT_TYPES)
def test_a_sample_of_each_type_validates(kind: str) -> None:
    assert _errors(SAMPLES[kind]) == []


def test_every_report_name_of_the_schema_has_a_sample() -> None:
    assert set(_schema()["$defs"]["event_report"]["properties"]["report"]["enum"]) == set(
        REPORT_ITEMS)


@pytest.mark.parametrize("name", sorted(REPORT_ITEMS))
def test_a_sample_item_of_each_report_validates(name: str) -> None:
    assert _errors(_report(name, REPORT_ITEMS[name])) == []


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def _with(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = changed
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return changed


# Each variant changes one thing; the fragment is what the validator must say about it.
REJECTED: dict[str, tuple[dict[str, Any], str]] = {
    "unknown field": (_with(SAMPLES["play_start"], "playbook", "deploy.yml"), "'playbook'"),
    "unknown type": (_with(SAMPLES["play_start"], "type", "play"), "'play' is not one of"),
    "the old shape": ({"event": "play", "play": "Deploy the app"},
                      "'schema_version' is a required property"),
    "no schema_version": (_without(SAMPLES["message"], "schema_version"),
                          "'schema_version' is a required property"),
    "schema version 2": (_with(SAMPLES["message"], "schema_version", 2), "1 was expected"),
    "no time": (_without(SAMPLES["message"], "time"), "'time' is a required property"),
    "time with an offset": (_with(SAMPLES["message"], "time", "2026-12-06T08:37:32.315+00:00"),
                            "does not match"),
    "time without milliseconds": (_with(SAMPLES["message"], "time", "2026-12-06T08:37:32Z"),
                                  "does not match"),
    "seq 0": (_with(SAMPLES["message"], "seq", 0), "less than the minimum of 1"),
    "a missing field": (_without(SAMPLES["run_start"], "run_id"),
                        "'run_id' is a required property"),
    "check as a string": (_with(SAMPLES["run_start"], "check", "false"), "not of type 'boolean'"),
    "lock_held as a string": (_with(SAMPLES["summary"], "lock_held", "Deploy lock held"),
                              "not of type 'boolean'"),
    "lock_held null": (_with(SAMPLES["summary"], "lock_held", None), "not of type 'boolean'"),
    "changed null": (_with(SAMPLES["host_result"], "changed", None), "not of type 'boolean'"),
    "an unknown status": (_with(SAMPLES["host_result"], "status", "rescued"),
                          "'rescued' is not one of"),
    "a human arrow": (_with(SAMPLES["message"], "text", "--> kdeploy deploy"), "'^--> '"),
    "ssh chatter in a result": (_with(SAMPLES["host_result"], "msg",
                                      "Shared connection to 10.0.0.2 closed."),
                                "should not be valid"),
    "ssh chatter after a message": (_with(SAMPLES["host_result"], "msg",
                                          "boom\nShared connection to 10.0.0.2 closed.\n"),
                                    "should not be valid"),
    "ssh chatter in a failure": (_with(SAMPLES["summary"], "failures.0.message",
                                       "Warning: Permanently added 'h1' to the list of known "
                                       "hosts."), "should not be valid"),
    "a secret's value in a change": (_with(
        SAMPLES["summary"], "hosts.web1.pending.1.fields.1.after", "s3cret"),
        "should not be valid"),
    "an unknown change kind": (_with(SAMPLES["summary"], "hosts.web1.pending.0.kind",
                                     "database"), "'database' is not one of"),
    "a host summary without counts": (_with(SAMPLES["summary"], "hosts.web1", {"state": "ok"}),
                                      "'ok' is a required property"),
    "an unknown error kind": (_with(SAMPLES["error"], "kind", "oops"), "'oops' is not one of"),
    "exit code 0 in an error": (_with(SAMPLES["error"], "exit_code", 0),
                                "less than the minimum of 1"),
    "a holder without who": (_with(SAMPLES["waiting"], "holder", {"automatic": False}),
                             "'locked_by' is a required property"),
    "attempt 0": (_with(SAMPLES["waiting"], "attempt", 0), "less than the minimum of 1"),
    "an unknown report": (_report("app inventory", {"host": "h1"}),
                          "'app inventory' is not one of"),
    "a report item without host": (_report("app version", {"role": "web", "version": "v1"}),
                                   "'host' is a required property"),
    "an item of another report": (_report("audit", REPORT_ITEMS["app exec"]),
                                  "'lines' is a required property"),
    "an interrupted report without signal": (_without(
        _report("interrupted", REPORT_ITEMS["interrupted"]), "signal"),
        "'signal' is a required property"),
    "a signal on another report": (_with(_report("audit", REPORT_ITEMS["audit"]),
                                         "signal", "SIGINT"), "should not be valid"),
    "config checks not passed": (_with(SAMPLES["config"], "checks", "skipped"),
                                 "'passed' was expected"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_the_schema_rejects(case: str) -> None:
    event, fragment = REJECTED[case]
    messages = _errors(event)
    assert any(fragment in message for message in messages), messages


@pytest.mark.parametrize("created, expected", [
    ("2026-12-06T08:37:32.315123+00:00", "2026-12-06T08:37:32.315Z"),
    ("2026-12-06T08:37:32.999999+00:00", "2026-12-06T08:37:32.999Z"),
    ("2026-12-06T09:37:32.000001+01:00", "2026-12-06T08:37:32.000Z"),
    ("2026-12-06T08:37:32.315123", "2026-12-06T08:37:32.315Z"),
    ("2026-12-06T08:37:32+00:00", "2026-12-06T08:37:32.000Z"),
])
def test_timestamp_turns_a_runner_created_into_utc_with_milliseconds(created: str,
                                                                     expected: str) -> None:
    assert events.timestamp(created) == expected


@pytest.mark.parametrize("created", [None, "", "yesterday"])
def test_timestamp_without_a_usable_created_is_a_valid_moment(created: str | None) -> None:
    stamp = events.timestamp(created)
    assert re.fullmatch(_schema()["$defs"]["time"]["pattern"], stamp)
    assert datetime.fromisoformat(stamp).utcoffset().total_seconds() == 0


def test_envelope_puts_the_envelope_first_and_refuses_unknown_types() -> None:
    event = events.envelope("message", 7, {"level": "notice", "text": "Tag v2 exists"}, TIME)
    assert list(event) == ["schema_version", "type", "time", "seq", "level", "text"]
    assert event["seq"] == 7
    assert _errors(event) == []
    assert _errors(events.envelope("message", 1, {"level": "info", "text": "x"})) == []
    with pytest.raises(ValueError, match="'play'"):
        events.envelope("play", 1, {})
