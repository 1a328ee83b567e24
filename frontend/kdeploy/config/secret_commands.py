"""Run the ``$(command)`` substitutions of a secrets file, as Kamal does.

Kamal runs them with Ruby backticks (``/bin/sh -c``, stdout captured, stderr left on the
terminal) except ``kamal secrets ...``, which it runs in-process with the hidden ``--inline``
flag. kdeploy runs that one in-process too (``secret_adapters.inline``), as
``kdeploy secrets ...``: no ``kamal`` executable is needed. ``fetch`` returns its JSON
shell-escaped, so ``$(kamal secrets extract X $SECRETS)`` on a later line gets it back intact.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from kdeploy.config.dotenv import CommandFailed
from kdeploy.config.secret_adapters.base import VaultRunner
from kdeploy.config.secret_adapters.inline import is_secrets_command, run_inline
from kdeploy.errors import KdeployError


class CommandRunner:
    """Callable that runs one substituted command and returns its chomped stdout."""

    def __init__(self, cwd: Path, environ: Mapping[str, str]) -> None:
        self._cwd = cwd
        self._environ = dict(environ)

    def __call__(self, command: str) -> str:
        """Run command and return its output without the trailing newline.

        Raises:
            CommandFailed: The command exits non-zero or cannot start. The message never
                holds the command's output or the substituted command line, which may hold
                secrets.
        """
        if is_secrets_command(command):
            return self._run_secrets_command(command)
        return _chomp(self._run(["/bin/sh", "-c", command], "command"))

    def _run_secrets_command(self, command: str) -> str:
        try:
            # Kamal chomps what its CLI returns, as for any command.
            return _chomp(run_inline(command, VaultRunner(cwd=self._cwd, environ=self._environ)))
        except KdeployError as error:
            raise CommandFailed(error.message) from None

    def _run(self, argv: list[str], what: str) -> str:
        try:
            # stdin and stderr stay on the terminal: password managers prompt and explain there.
            result = subprocess.run(
                argv, cwd=self._cwd, env=self._environ, stdout=subprocess.PIPE, check=False
            )
        except OSError as error:
            raise CommandFailed(f"{what} could not start: {error.strerror}") from None
        if result.returncode != 0:
            raise CommandFailed(f"{what} failed with exit status {result.returncode}")
        return result.stdout.decode("utf-8", errors="replace")


def _chomp(text: str) -> str:
    r"""Ruby's String#chomp: drop one trailing \n, \r\n or \r."""
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text
