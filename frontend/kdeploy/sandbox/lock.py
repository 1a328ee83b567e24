"""One `up` or `down` at a time on this machine, whatever the instance.

Instances have names of their own, but they share iptables: one lock for all keeps the read,
plan and apply of the firewall rules from interleaving.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from kdeploy.sandbox.errors import SandboxError

LOCK_FILE = Path("/run/kdeploy-sandbox.lock")


@contextlib.contextmanager
def machine_lock(path: Path = LOCK_FILE) -> Iterator[None]:
    """Hold an exclusive lock; a second caller waits, then sees what the first one built.

    Raises:
        SandboxError: when the lock file cannot be opened.
    """
    try:
        handle = open(path, "a")  # noqa: SIM115 (held open for the whole block)
    except OSError as error:
        raise SandboxError(f"cannot open the sandbox lock {path}: {error}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock
