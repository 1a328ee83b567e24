"""Kamal's confirmation questions: asked on a terminal; without one the command needs `-y`.

A CI job must never hang on a prompt, nor remove everything by accident.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from kdeploy.errors import UsageError


def can_ask() -> bool:
    """Whether a question can be asked: stdin and stdout are a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(confirmed: bool, question: str, command: str, asking: Callable[[], bool]) -> None:
    """Ask `question` unless `-y` was given; "no" ends the command (exit 0, `Aborted`).

    Args:
        confirmed: `-y`.
        question: Kamal's question.
        command: the command, for the message when no terminal can be asked.
        asking: the caller's `can_ask`, looked up in the caller's module (tests replace it
            there).

    Raises:
        UsageError: no `-y` and no terminal to ask on.
    """
    if confirmed:
        return
    if not asking():
        raise UsageError(f"kdeploy {command} needs -y to proceed (there is no terminal to ask on)")
    if not click.confirm(question, default=False):
        click.secho("Aborted", fg="red")
        sys.exit(0)
