"""Errors of the sandbox: each is a `KdeployError`, so the CLI prints one line and exits."""

from __future__ import annotations

from kdeploy.errors import KdeployError


class SandboxError(KdeployError):
    """Building, starting or stopping the sandbox failed (exit 1)."""

    exit_code = 1


class SandboxUnavailable(KdeployError):
    """This machine cannot run the sandbox: not Linux, not root, or packages missing (exit 2)."""

    exit_code = 2


class SandboxConflict(KdeployError):
    """An address or a name the sandbox needs is already taken by something else (exit 2)."""

    exit_code = 2
