"""`boot:`: how many hosts boot at once, and how long to wait between groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.validation import Validator
from kdeploy.config.values import ruby_str


@dataclass(frozen=True)
class Boot:
    """Rolling boot settings; `limit` is an int or a percentage string such as `"25%"`."""

    limit: int | str | None = None
    wait: int | None = None
    parallel_roles: bool = False

    def group_size(self, host_count: int) -> int | None:
        """Hosts per boot group; a percentage is of all hosts, floored, at least 1 (Kamal)."""
        if isinstance(self.limit, str) and self.limit.endswith("%"):
            return max(host_count * _leading_int(self.limit) // 100, 1)
        return _leading_int(str(self.limit)) if self.limit is not None else None


def validate_boot(raw: Any) -> None:
    """Check `boot:` against the documented example; `limit` is a number or `N%`."""
    validator = Validator("boot")
    validator.against_example(raw, example("boot")["boot"])
    limit = raw.get("limit")
    # Kamal accepts any scalar here and fails mid-deploy; say so while loading instead.
    if limit is not None and not re.fullmatch(r"\d+%?", ruby_str(limit)):
        with validator.within("limit"):
            validator.error("should be an integer or a percentage such as 25%")


def build_boot(raw: dict[str, Any] | None) -> Boot:
    """Build Boot from a validated hash."""
    raw = raw or {}
    limit = raw.get("limit")
    if limit is not None and not isinstance(limit, int):
        limit = ruby_str(limit)
    return Boot(limit=limit, wait=raw.get("wait"), parallel_roles=bool(raw.get("parallel_roles")))


def _leading_int(text: str) -> int:
    # Ruby's String#to_i: leading digits, else 0.
    digits = ""
    for char in text.strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits or 0)
