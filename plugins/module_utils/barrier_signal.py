# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""The role barrier's signals on a host: files that a release's module writes or waits for.

The role barrier is kept on the controller (plugins/action/release.py). Two files on the hosts
let it move when Kamal's does, without a second module call:

- ready: a primary-role release writes `open` to it once its new container is ready (or found
  converged), before it stops the other versions, and `closed` when it ends without. Its action
  plugin watches the file over a second session on the host (`watch_command`) and opens the
  barrier as soon as it reads `open`.
- go: a release of another role pulls, then waits for this file, which its action plugin writes
  (`send_command`) once the barrier is set, and boots in the same call when it says `open`.

Both live in ~/.kdeploy/barrier, named per ansible-playbook run, kind and host. The host side and
the shell commands the action plugin sends are both here, so that they agree on the names and
the format. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from contextlib import suppress

SIGNAL_DIR = ".kdeploy/barrier"
OPEN = "open"
CLOSED = "closed"
# How often a wait looks at the file: it costs a stat (a `sleep` on the host for the watch).
POLL_SECONDS = 0.02
# A go file whose release had stopped waiting (its wait ran out) is left behind: removed a day on.
STALE_SECONDS = 86400


def signal_path(run, kind, host):
    """The file, relative to the home directory, of one signal of one run on one host."""
    run = re.sub(r"[^A-Za-z0-9_.-]", "_", run)
    host_id = hashlib.sha1(host.encode("utf-8")).hexdigest()[:12]
    return "%s/%s-%s-%s" % (SIGNAL_DIR, run, kind, host_id)


def write_signal(path, state):
    """Write `state` to the file at once (renamed into place: a reader never sees half of it)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    with open(path + ".part", "w") as handle:
        handle.write(state)
    os.rename(path + ".part", path)


def read_signal(path):
    """The state in the file, or None while there is none."""
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None


def remove_stale(directory, now=None):
    """Remove the signals older than STALE_SECONDS (a go file written after its wait ran out)."""
    now = time.time() if now is None else now
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        path = os.path.join(directory, name)
        try:
            if os.path.getmtime(path) < now - STALE_SECONDS:
                os.remove(path)
        except OSError:
            continue


def await_signal(path, sleep, limit, poll=POLL_SECONDS, clock=time.time):
    """Wait for the file; its state (the file is removed), or None after `limit` seconds.

    `sleep` is the module's interruptible sleep (StopSignal.sleep), so that an interrupted run
    stops the wait at once.
    """
    deadline = clock() + limit
    while True:
        state = read_signal(path)
        if state in (OPEN, CLOSED):
            with suppress(OSError):
                os.remove(path)
            return state
        if clock() >= deadline:
            return None
        sleep(poll)


# A watch prints a dot this often, so that it dies (SIGPIPE) once its session is gone: a loop
# that only reads would outlive a killed controller.
WATCH_ALIVE_EVERY = 5


def watch_command(path, limit):
    """A shell command that waits up to `limit` seconds for the file, prints it and removes it.

    Its output is dots, then the state (watched_state reads it).
    """
    count = int(limit / POLL_SECONDS)
    return ('f="$HOME/%s"; n=0; while [ ! -s "$f" ] && [ "$n" -lt %d ]; do '
            'if [ $((n %% %d)) -eq 0 ]; then printf .; fi; sleep %s; n=$((n+1)); done; '
            'cat "$f" 2>/dev/null; rm -f "$f"' % (path, count, WATCH_ALIVE_EVERY, POLL_SECONDS))


def watched_state(output):
    """The state a watch printed (bytes), or None."""
    state = output.decode("utf-8", "replace").strip().lstrip(".")
    return state if state in (OPEN, CLOSED) else None


def send_command(path, state):
    """A shell command that writes `state` to the file at once, as write_signal does."""
    return ('umask 077 && mkdir -p "$HOME/%s" && printf %%s %s > "$HOME/%s.part" && '
            'mv -f "$HOME/%s.part" "$HOME/%s"' % (os.path.dirname(path), state, path, path, path))
