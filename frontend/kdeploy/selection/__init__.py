"""Which roles and hosts a command acts on: Kamal's `-r/-h/-p`, resolved from a loaded config."""

from __future__ import annotations

from kdeploy.selection.filters import Selection, matches_pattern, select

__all__ = ["Selection", "matches_pattern", "select"]
