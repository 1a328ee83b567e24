"""The one small hierarchy of errors kdeploy expects, each with its exit code."""

from __future__ import annotations


class KdeployError(Exception):
    """An expected failure: printed as one line, never as a traceback.

    `kind` names it in the JSON `error` event (schema v1's `error_kind`).
    """

    exit_code = 1
    kind = "failed"
    # Said already by the run's own output (its summary): nothing more on stderr or in JSON.
    silent = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(KdeployError):
    """The config, a destination file or a secrets file is wrong (exit 2)."""

    exit_code = 2
    kind = "config"


class UsageError(KdeployError):
    """The command line asks for something that does not exist (exit 2)."""

    exit_code = 2
    kind = "usage"


class LockHeldError(KdeployError):
    """Someone (kdeploy or Kamal) already holds the deploy lock (exit 3)."""

    exit_code = 3
    kind = "lock_held"


class LockWaitTimedOut(LockHeldError):
    """`--lock-wait`: the deploy lock was still held when the timeout ran out (exit 3)."""

    kind = "lock_timeout"


class LockHeldManually(LockHeldError):
    """`--lock-wait`: the lock was taken by hand (`lock acquire`), so it is not waited for (exit 3).

    Kamal 2.12 waits only for the automatic lock a running command holds.
    """

    kind = "lock_manual"


class DeployFailed(KdeployError):
    """A deploy step failed or a host was unreachable (exit 1)."""

    exit_code = 1


class ChangesPending(KdeployError):
    """`--check --exit-code`: the check found changes to make (exit 4); the summary lists them."""

    exit_code = 4
    silent = True


class Interrupted(KdeployError):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) cut the command: exit 128 + the signal, as a shell.

    130 for Ctrl-C (the default), 143 for SIGTERM, 129 for SIGHUP.
    """

    exit_code = 130
    kind = "interrupted"

    def __init__(self, message: str, signum: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = self.code_for(signum)

    @staticmethod
    def code_for(signum: int | None) -> int:
        """The exit code for a command stopped by `signum` (SIGINT when unknown)."""
        return 128 + (signum or 2)
