"""The `--output json` contract: schema version, event types, timestamps, the schema file.

Every line kdeploy writes under `--output json` is one event: the envelope (`schema_version`,
`type`, `time`, `seq`) and the fields of its type. `schemas/events-v1.schema.json` (shipped in
the package) says exactly which fields each type has. Nothing here validates at run time: the
tests check what kdeploy writes against that file.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

# Bumped only for incompatible changes; new fields and new types are added without a bump.
EVENT_SCHEMA_VERSION = 1

EVENT_TYPES = ("run_start", "message", "play_start", "task_start", "host_result", "waiting",
               "report", "error", "summary", "config")
# Every stream ends with exactly one of these, and it carries the command's exit code
# (`config` is the whole stream of `kdeploy config --output json`).
TERMINAL_TYPES = ("summary", "error", "config")

_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


class EventStream(Protocol):
    """A command's stream of events (`output.JsonOutput`), as the CLI's error path sees it."""

    terminal_written: bool

    def error(self, kind: str, message: str, exit_code: int) -> None:
        """Write the terminal `error` event."""


_CURRENT_STREAM: ContextVar[EventStream | None] = ContextVar("kdeploy_event_stream",
                                                            default=None)


def use_stream(stream: EventStream | None) -> None:
    """Make `stream` the running command's (None: a new command starts without one)."""
    _CURRENT_STREAM.set(stream)


def current_stream() -> EventStream | None:
    """The stream the running command writes its events to, if it has one yet."""
    return _CURRENT_STREAM.get()


def schema_path(version: int = EVENT_SCHEMA_VERSION) -> Path:
    """The JSON Schema (2020-12) file of the events of `version`, inside the package."""
    return _SCHEMA_DIR / f"events-v{version}.schema.json"


def timestamp(created: str | None = None) -> str:
    """An event's `time`: RFC 3339 in UTC with milliseconds (`2026-12-06T08:37:32.315Z`).

    Args:
        created: an ansible-runner event's `created` (ISO 8601, e.g. `…32.315123+00:00`; a
            value without an offset is UTC). None, or a value that does not parse, stands for
            now: an odd timestamp must not stop the output.

    Returns:
        The moment in the event schema's format.
    """
    moment = None
    if created:
        try:
            moment = datetime.fromisoformat(created)
        except ValueError:
            moment = None
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope(kind: str, seq: int, fields: dict[str, Any],
             time: str | None = None) -> dict[str, Any]:
    """One event: the envelope first, then the type's fields (the order the docs show).

    Args:
        kind: one of `EVENT_TYPES`.
        seq: the event's place in the command's stream, from 1.
        fields: the type's own fields.
        time: the event's `time` (from `timestamp`); now when None.

    Returns:
        The event as a dict, ready for `json.dumps`.

    Raises:
        ValueError: `kind` is not an event type of this schema version.
    """
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    return {"schema_version": EVENT_SCHEMA_VERSION, "type": kind,
            "time": time or timestamp(), "seq": seq, **fields}
