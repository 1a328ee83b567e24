"""Which roles and hosts a command acts on: Kamal's `-r/-h/-p`, resolved once from a config."""

from __future__ import annotations

from kdeploy.selection.context import CommandContext, Filters, find_performer, load_context
from kdeploy.selection.filters import Selection, matches_pattern, select

__all__ = ["CommandContext", "Filters", "Selection", "find_performer", "load_context",
           "matches_pattern", "select"]
