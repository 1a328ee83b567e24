"""What a failed run tells the user: its exit code and one line per failed host.

Shared by the command's own run and its hooks' playbooks (a hook playbook that fails is
reported the same way, under ``Hook `X` failed:``).
"""

from __future__ import annotations

from kdeploy.errors import ChangesPending, DeployFailed, Interrupted, LockHeldError
from kdeploy.run.result import HostFailure, RunResult
from kdeploy.run.ssh_errors import classify_ssh_error


def exit_code(result: RunResult, pending_exit: bool = False) -> int:
    """The exit code of a finished run: 128 + signal, 3 lock held, 1 failed, 4 pending, 0.

    Args:
        result: the run.
        pending_exit: `--check --exit-code`: changes the check found are exit 4.
    """
    if result.interrupted:
        return Interrupted.code_for(result.signal)
    if result.lock_held is not None:
        return LockHeldError.exit_code
    if not result.ok:
        return DeployFailed.exit_code
    return ChangesPending.exit_code if pending_exit and result.pending_changes else 0


def failure_message(result: RunResult) -> str:
    """What failed, one line per host; a refused host key adds what to do on the next line."""
    lines = []
    for failure in result.failures:
        if failure.unreachable:
            lines += unreachable_lines(failure)
            continue
        # The first line says what failed; the rest (a log tail) was shown under the host.
        summary = (failure.message.splitlines() or [""])[0]
        lines.append(f"{failure.host} failed at '{failure.task}': {summary}")
    return "\n".join(lines) or f"ansible-playbook ended with status {result.status}"


def unreachable_lines(failure: HostFailure) -> list[str]:
    """An unreachable host: where it failed, ssh's reason, and the fix for a refused host key."""
    fault = classify_ssh_error(failure.message, failure.host)
    play = f" (play '{failure.play}')" if failure.play else ""
    lines = [f"{failure.host} unreachable at '{failure.task}'{play}: {fault.summary()}"]
    if fault.fix:
        lines.append(f"  To fix: {fault.fix}.")
    return lines
