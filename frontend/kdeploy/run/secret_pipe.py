"""Hand secret values to ansible-playbook through a FIFO, so they never reach the disk.

ansible-runner writes the job's whole environment to ``artifacts/<ident>/command``, so secrets
cannot simply travel as runner envvars. Instead kdeploy runs a tiny launcher in place of
``ansible-playbook``: it reads the secrets once from a named pipe (kernel memory only), puts
them into its own environment and runs the real ansible-playbook (in its own process when it is
this Python's, playbook_process.py; else it execs it). Tasks read them with
``lookup('ansible.builtin.env', …)`` and carry ``no_log: true``, or hand them to the collection's
modules in options those declare ``no_log`` (Ansible masks each value).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

FIFO_ENV = "KDEPLOY_SECRETS_FIFO"

_LAUNCHER = """#!{python}
# Written by kdeploy: load secrets from the pipe named in {fifo_env}, then run ansible-playbook.
import json, os, sys
fifo = os.environ.pop("{fifo_env}", None)
if fifo:
    with open(fifo, encoding="utf-8") as pipe:
        os.environ.update(json.load(pipe))
{run}
"""
_EXEC = "os.execv({playbook!r}, [{playbook!r}, *sys.argv[1:]])"
# A Python that cannot import kdeploy as the launcher starts it (kdeploy found through a path of
# its own process only, as a zipapp's) execs ansible-playbook instead.
_IN_PROCESS = """try:
    from kdeploy.run.playbook_process import run_ansible_playbook
except ImportError:
    """ + _EXEC + """
run_ansible_playbook({playbook!r})"""


def ansible_playbook_path() -> str:
    """Return the ansible-playbook next to this Python (the venv's), else the one on PATH."""
    beside = _beside_python()
    if Path(beside).exists():
        return beside
    found = shutil.which("ansible-playbook")
    return found or "ansible-playbook"


def _beside_python() -> str:
    return str(Path(sys.executable).parent / "ansible-playbook")


class SecretPipe:
    """A FIFO plus launcher in `directory` that delivers `values` to one ansible-playbook run."""

    def __init__(self, directory: Path, values: Mapping[str, str],
                 playbook: str | None = None) -> None:
        self.fifo = directory / "secrets.fifo"
        self.launcher = directory / "ansible-playbook"
        self._playbook = playbook or ansible_playbook_path()
        self._payload = json.dumps(dict(values))
        self._writer = threading.Thread(target=self._write, daemon=True)

    def __enter__(self) -> SecretPipe:
        os.mkfifo(self.fifo, 0o600)
        # This Python's own ansible-playbook runs in the launcher's process: one start less.
        run = _IN_PROCESS if self._playbook == _beside_python() else _EXEC
        self.launcher.write_text(_LAUNCHER.format(
            python=sys.executable, fifo_env=FIFO_ENV, run=run.format(playbook=self._playbook)))
        self.launcher.chmod(0o700)
        self._writer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._writer.is_alive():
            # Nobody read the pipe (the run failed early): open it ourselves to release the writer.
            reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
            self._writer.join(timeout=5)
            os.close(reader)  # unread data dies with the pipe; it never reached a disk
        self.fifo.unlink(missing_ok=True)

    def _write(self) -> None:
        try:
            with open(self.fifo, "w", encoding="utf-8") as pipe:
                pipe.write(self._payload)
        except OSError:
            pass  # the reader went away: the run never started, so nobody needs the secrets
