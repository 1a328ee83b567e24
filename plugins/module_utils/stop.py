# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Let a kdeploy module stop at a safe point when the run that started it is interrupted.

When kdeploy is interrupted (Ctrl-C, SIGTERM, SIGHUP) it kills its local Ansible processes, which
leaves the modules they started running on the hosts. A module using this notices on its own:
the SSH channel that would carry its answer closes (its stdout reports an error), and it stops at
the next safe point. kdeploy's settle step (kdeploy.deploy.settle) then sends SIGTERM to those that
catch it - a module that installs this handler says "I can stop at a safe point" - and waits for
every other one to finish. A module calls `check()` between steps and leaves the host in a safe
state (for a release: the old version keeps running). Waiting that can be dropped without harm (a
pull, a sleep, a health probe) runs inside `abortable()`, where the signal raises StopRequested
at once and a closed channel within a tenth of a second.

Used by the modules release and settle. Standard library only.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from contextlib import contextmanager, suppress

# Where an interrupted module leaves its account for the settle step, under the home directory.
NOTES_DIR = ".kdeploy/interrupted"
# How often a sleep looks whether kdeploy is still there.
SLICE = 0.1


class StopRequested(Exception):
    """The run was interrupted: stop at this safe point."""


class StopSignal(object):
    """SIGTERM as a request to stop at the next safe point."""

    def __init__(self, output_fd=1):
        self.requested = False
        self._abortable = 0
        self._output = select.poll()
        # POLLERR on the write end of a pipe: the reader (sshd, for kdeploy) closed it.
        self._output.register(output_fd, select.POLLERR | select.POLLHUP)

    def install(self):
        """Catch SIGTERM from now on (the settle module knows such a module by its signal mask)."""
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True
        if self._abortable:
            raise StopRequested("stop requested")

    def check(self):
        """Raise StopRequested if a stop was requested, or nobody will read the answer."""
        if not self.requested and self._output.poll(0):
            self.requested = True
        if self.requested:
            raise StopRequested("stop requested")

    @contextmanager
    def abortable(self):
        """Waiting in here may be cut short: the signal raises StopRequested at once."""
        self.check()
        self._abortable += 1
        try:
            yield
        finally:
            self._abortable -= 1

    def sleep(self, seconds):
        """Sleep, unless a stop is requested before or during it."""
        deadline = time.time() + max(0, seconds)
        with self.abortable():
            while time.time() < deadline:
                time.sleep(max(0, min(SLICE, deadline - time.time())))
                self.check()


def write_note(home, note):
    """Leave `note` (a dict) for the settle step in ~/.kdeploy/interrupted/<pid>.json.

    The note carries the SSH connection the module came over: the settle step, which kdeploy
    runs over the same connection, takes the notes of its own run only.
    """
    directory = os.path.join(home, NOTES_DIR)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    path = os.path.join(directory, "%d.json" % os.getpid())
    with open(path + ".tmp", "w") as handle:
        json.dump(dict(note, connection=os.environ.get("SSH_CONNECTION", "")), handle)
    os.rename(path + ".tmp", path)


def read_notes(home, connection):
    """The notes left by modules that came over `connection`, oldest first; their files go."""
    notes = []
    directory = os.path.join(home, NOTES_DIR)
    names = os.listdir(directory) if os.path.isdir(directory) else []
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                note = json.load(handle)
            taken = os.path.getmtime(path)
        except (IOError, OSError, ValueError):
            continue
        if not connection or note.pop("connection", None) != connection:
            continue
        notes.append((taken, note))
        with suppress(OSError):
            os.remove(path)
    return [note for _, note in sorted(notes, key=lambda item: item[0])]
