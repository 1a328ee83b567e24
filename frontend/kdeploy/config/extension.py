"""The root `x-kdeploy:` key: settings only kdeploy reads (Kamal ignores root `x-*` keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.validation import Validator

KEY = "x-kdeploy"


@dataclass(frozen=True)
class KdeployExtension:
    """kdeploy-only settings."""

    python_interpreter: str | None = None


def validate_extension(raw: Any) -> None:
    """Check `x-kdeploy:` against its documented example (unknown keys are errors)."""
    if raw is not None:
        Validator(KEY).against_example(raw, example(KEY)[KEY])


def build_extension(raw: dict[str, Any] | None) -> KdeployExtension:
    """Build the extension settings from a validated hash."""
    raw = raw or {}
    interpreter = raw.get("python_interpreter")
    return KdeployExtension(python_interpreter=None if interpreter is None else str(interpreter))
