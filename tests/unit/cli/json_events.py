"""The `--output json` lines of a command, each checked against the event schema v1."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from kdeploy.events import TERMINAL_TYPES, schema_path

_VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema_path().read_text()))


def valid_events(output: str) -> list[dict[str, Any]]:
    """Every line of `output` parsed; fails on a line the schema rejects, a `seq` out of order,
    or anything but exactly one terminal event (summary, error, config) at the end."""
    events = [json.loads(line) for line in output.splitlines()]
    for event in events:
        errors = [error.message for error in _VALIDATOR.iter_errors(event)]
        assert errors == [], f"{event}: {errors}"
    terminal = [index for index, event in enumerate(events) if event["type"] in TERMINAL_TYPES]
    assert terminal == [len(events) - 1], f"one terminal event, the last: {events}"
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    return events


def report_event(output: str) -> dict[str, Any]:
    """The one `report` event of a command's valid JSON stream."""
    (report,) = [event for event in valid_events(output) if event["type"] == "report"]
    return report
