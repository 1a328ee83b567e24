"""The one small hierarchy of errors kdeploy expects, each with its exit code."""

from __future__ import annotations


class KdeployError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(KdeployError):
    """The config, a destination file or a secrets file is wrong (exit 2)."""

    exit_code = 2


class UsageError(KdeployError):
    """The command line asks for something that does not exist (exit 2)."""

    exit_code = 2


class LockHeldError(KdeployError):
    """Someone (kdeploy or Kamal) already holds the deploy lock (exit 3)."""

    exit_code = 3


class DeployFailed(KdeployError):
    """A deploy step failed or a host was unreachable (exit 1)."""

    exit_code = 1


class Interrupted(KdeployError):
    """Ctrl-C stopped the run; the deploy lock was released (exit 130, like SIGINT in a shell)."""

    exit_code = 130
