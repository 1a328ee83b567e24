"""Words for people: a count with its noun in agreement, wherever kdeploy says one."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`1 host`, `2 hosts`, `0 hosts`: a count with its noun in agreement."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
