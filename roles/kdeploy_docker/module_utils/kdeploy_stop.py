# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Let a kdeploy module stop at a safe point when the run that started it is interrupted.

When kdeploy is interrupted (Ctrl-C, SIGTERM, SIGHUP) it kills its local Ansible processes, which
leaves the modules they started running on the hosts. Its settle step (kdeploy_settle) then sends
SIGTERM to those that catch it - a module that installs this handler says "I can stop at a safe
point" - and waits for every other one to finish. A module checks `requested()` between steps
and leaves the host in a safe state (for a release: the old version keeps running). Waiting that
can be dropped without harm (a pull, a sleep, a health probe) runs inside `abortable()`, where the
signal raises StopRequested at once.

Linked into the module_utils/ of the roles whose modules use it (kdeploy_app). Standard library
only.
"""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import contextmanager, suppress

# Where an interrupted module leaves its account for the settle step, under the home directory.
NOTES_DIR = ".kdeploy/interrupted"


class StopRequested(Exception):
    """The run was interrupted: stop at this safe point."""


class StopSignal(object):
    """SIGTERM as a request to stop at the next safe point."""

    def __init__(self):
        self.requested = False
        self._abortable = 0

    def install(self):
        """Catch SIGTERM from now on (kdeploy_settle knows such a module by its signal mask)."""
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True
        if self._abortable:
            raise StopRequested("stop requested")

    def check(self):
        """Raise StopRequested if a stop was requested."""
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
        with self.abortable():
            time.sleep(max(0, seconds))


def write_note(home, note):
    """Leave `note` (a dict) for the settle step in ~/.kdeploy/interrupted/<pid>.json."""
    directory = os.path.join(home, NOTES_DIR)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    path = os.path.join(directory, "%d.json" % os.getpid())
    with open(path + ".tmp", "w") as handle:
        json.dump(note, handle)
    os.rename(path + ".tmp", path)


def read_notes(home, pids):
    """The notes left by the processes `pids`, removing their files: {pid: note}."""
    notes = {}
    directory = os.path.join(home, NOTES_DIR)
    for pid in pids:
        path = os.path.join(directory, "%d.json" % pid)
        try:
            with open(path) as handle:
                notes[pid] = json.load(handle)
        except (IOError, OSError, ValueError):
            continue
        with suppress(OSError):
            os.remove(path)
    return notes
