"""Run the ``$(command)`` substitutions of a secrets file, as Kamal does.

Kamal runs them with Ruby backticks (``/bin/sh -c``, stdout captured, stderr left on the
terminal) except ``kamal secrets ...``, which it runs in-process with the hidden ``--inline``
flag. kdeploy runs that one through the ``kamal`` executable and applies what ``--inline``
changes: ``fetch`` returns its JSON shell-escaped, so ``$(kamal secrets extract X $SECRETS)``
on a later line gets it back intact.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from kdeploy.config.dotenv import CommandFailed

_KAMAL_SECRETS = re.compile(r"\A\s*kamal\s*secrets\s+")


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
        if _KAMAL_SECRETS.match(command):
            return self._run_kamal_secrets(command)
        return _chomp(self._run(["/bin/sh", "-c", command], "command"))

    def _run_kamal_secrets(self, command: str) -> str:
        try:
            args = shlex.split(command)[1:]
        except ValueError as error:
            raise CommandFailed(f"`kamal secrets` command: {error}") from None
        kamal = shutil.which("kamal", path=self._environ.get("PATH", ""))
        if kamal is None:
            raise CommandFailed("`kamal secrets` needs the kamal executable on PATH")
        output = _chomp(self._run([kamal, *args], f"`kamal {' '.join(args[:2])}`"))
        return ruby_shellescape(output) if args[1:2] == ["fetch"] else output

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


def ruby_shellescape(text: str) -> str:
    """Ruby's Shellwords.escape, which ``kamal secrets fetch --inline`` applies to its JSON."""
    if not text:
        return "''"
    escaped = re.sub(r"([^A-Za-z0-9_\-.,:+/@\n])", r"\\\1", text)
    return escaped.replace("\n", "'\n'")
