"""Every `--output json` line an e2e test makes, checked against the event schema v1.

`Project.run` calls `validate_events` on the stdout of every `python -m kdeploy … --output json`
(and `config --json`), so a test that never reads the events still proves they are valid;
`test_interrupts.py` checks its streamed lines with `event_errors` as they come.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import jsonschema

from kdeploy.events import TERMINAL_TYPES, schema_path

_VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema_path().read_text()))


def asks_for_json(argv: Sequence[str]) -> bool:
    """Whether `argv` runs kdeploy (`-m kdeploy`) with JSON output."""
    words = list(argv)
    if ("-m", "kdeploy") not in pairwise(words):
        return False
    if "--" in words:
        words = words[:words.index("--")]
    return ("--output=json" in words or ("config" in words and "--json" in words)
            or ("--output", "json") in pairwise(words))


def event_errors(line: str) -> list[str]:
    """What is wrong with one stdout line: not JSON, or an event the schema rejects."""
    try:
        event = json.loads(line)
    except ValueError as error:
        return [f"not JSON ({error}): {line!r}"]
    return [f"{error.json_path}: {error.message}" for error in _VALIDATOR.iter_errors(event)]


def validate_events(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The events of a finished command, each valid; `seq` from 1 in order; one terminal, last.

    Raises:
        AssertionError: naming the first line that breaks the contract and why.
    """
    lines = [line for line in lines if line.strip()]
    for number, line in enumerate(lines, 1):
        errors = event_errors(line)
        assert not errors, f"stdout line {number} breaks event schema v1: {errors}\n{line}"
    events = [json.loads(line) for line in lines]
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1)), events
    terminal = [index for index, event in enumerate(events) if event["type"] in TERMINAL_TYPES]
    assert terminal == [len(events) - 1], f"not exactly one terminal event, last: {lines}"
    return events
