"""What every adapter shares: Kamal's ``Adapters::Base#fetch`` and a runner for the vault CLIs.

Kamal runs each vault CLI through Ruby backticks: stdout captured, stderr and stdin left on the
terminal (the CLIs prompt and explain there), the exit status checked only where it says so.
kdeploy runs the same argv without a shell, so a secret name is never shell syntax.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdeploy.config.secret_adapters.ruby_text import blank
from kdeploy.errors import KdeployError, UsageError


class AdapterError(KdeployError):
    """A vault CLI is missing, not logged in, or did not give what was asked (exit 1).

    The message never holds a secret value: only names, as Kamal's messages do.
    """


@dataclass(frozen=True)
class Output:
    """What one vault CLI run gave back: its stdout, and whether it exited 0."""

    stdout: str
    ok: bool


class VaultRunner:
    """Runs a vault CLI as Kamal's backticks do, in a directory and an environment."""

    def __init__(self, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        self.environ = None if environ is None else dict(environ)

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 quiet: bool = False) -> Output:
        """Run argv and capture its stdout.

        Args:
            argv: The command; a missing executable is an exit status 127, as the shell's.
            env: Variables set for this command only (Kamal's ``BW_SESSION=... bw``).
            quiet: Kamal's ``2> /dev/null``: the command's stderr is dropped.
        """
        environ = self.environ
        if env:
            environ = {**(self.environ if self.environ is not None else _process_env()), **env}
        try:
            result = subprocess.run(
                list(argv), cwd=self.cwd, env=environ, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if quiet else None, check=False,
            )
        except OSError:
            return Output("", ok=False)
        return Output(result.stdout.decode("utf-8", errors="replace"), ok=result.returncode == 0)

    def env(self, name: str) -> str | None:
        """A variable of the environment the CLIs see (Kamal's ``ENV[name]``)."""
        environ = self.environ if self.environ is not None else _process_env()
        return environ.get(name)


def _process_env() -> dict[str, str]:
    return dict(os.environ)


class Adapter:
    """One vault: Kamal's ``Kamal::Secrets::Adapters::Base`` and its template methods."""

    requires_account = True
    # The CLI and how Kamal names it in "... CLI is not installed"; None: nothing to check.
    cli: tuple[str, ...] | None = None
    cli_name = ""

    def __init__(self, run: VaultRunner) -> None:
        self.run = run

    def fetch(self, secrets: Sequence[str], account: str | None = None,
              from_: str | None = None) -> dict[str, Any]:
        """Kamal's ``Base#fetch``: check the account and the CLI, log in, fetch.

        Returns:
            The secrets by name, in the order the vault gave them.

        Raises:
            UsageError: ``--account`` is missing for an adapter that needs it.
            AdapterError: The CLI is missing, the login failed, or a secret is not there.
        """
        if self.requires_account and blank(account):
            raise UsageError("Missing required option '--account'")
        self.check_dependencies()
        session = self.login(account)
        return self.fetch_secrets(list(secrets), from_=from_, account=account, session=session)

    def check_dependencies(self) -> None:
        """Kamal's ``cli_installed?``: ``<cli> --version 2> /dev/null`` exits 0."""
        if self.cli is not None and not self.run(self.cli, quiet=True).ok:
            raise AdapterError(f"{self.cli_name} CLI is not installed")

    def login(self, account: str | None) -> str | None:
        """Log in if needed; return a session token where the CLI has one."""
        raise NotImplementedError

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """Fetch the named secrets (already checked: account, CLI, login)."""
        raise NotImplementedError


def prefixed_secrets(secrets: Sequence[str], from_: str | None) -> list[str]:
    """Kamal's ``prefixed_secrets``: ``FROM/NAME``, or NAME without ``--from``."""
    return [secret if from_ is None else f"{from_}/{secret}" for secret in secrets]


def parse_json(text: str, what: str) -> Any:
    """Parse a CLI's JSON output as Ruby's ``JSON.parse`` (no NaN or Infinity).

    Raises:
        AdapterError: Not JSON; the message names the command, never the output.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise AdapterError(f"`{what}` did not print JSON") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(name)
