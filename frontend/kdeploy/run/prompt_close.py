"""ansible-runner's last step without pexpect's 0.1 s sleep.

Runner waits on ansible-playbook through pexpect while the process is alive, then closes its
pty. ptyprocess's `close()` sleeps `delayafterclose` (0.1 s) "to give the kernel time to update
process status" before it looks whether the child still lives, and runner sets no delay of its
own. The child runner closes has already exited (its loop ends when the child is not alive), so
that sleep was 0.1 s added to the end of every kdeploy command.

`prompt_close()` has runner spawn a `spawn` whose `close()` skips the sleep for a child that has
exited; a child still alive (it cannot be, from runner) is closed as pexpect closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pexpect


class PromptCloseSpawn(pexpect.spawn):
    """pexpect's spawn, whose `close()` does not wait for a child that has already exited."""

    def close(self, force: bool = True) -> None:
        """Close the pty; then, if the child still lives, end it as pexpect does."""
        if not self.closed and not self.isalive():
            self.ptyproc.delayafterclose = 0
        super().close(force)


@contextmanager
def prompt_close() -> Iterator[None]:
    """Within: the spawns ansible-runner makes are `PromptCloseSpawn`s."""
    from ansible_runner import runner

    spawn = runner.pexpect.spawn
    runner.pexpect.spawn = PromptCloseSpawn
    try:
        yield
    finally:
        runner.pexpect.spawn = spawn
