"""Kamal's secrets: ``.kamal/secrets-common`` plus ``.kamal/secrets[.<destination>]``.

Mirrors ``lib/kamal/secrets.rb`` (Kamal 2.12, whose ``secrets_path`` defaults to
``.kamal/secrets`` as here): the files are read lazily on the first lookup, because reading them
may run password-manager commands that prompt the user.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

from kdeploy.config.dotenv import parse_dotenv
from kdeploy.config.secret_commands import CommandRunner
from kdeploy.errors import ConfigError

# `-v` shows this logger's INFO lines (cli/options.py): each command a secrets file runs.
_log = logging.getLogger(__name__)
REDACTED = "[REDACTED]"
# Shorter values ("yes", "1") would blank out unrelated words all over the output.
_MIN_REDACT_LENGTH = 4


class Secrets:
    """The secrets of one deploy, looked up by name like Kamal's ``config.secrets[...]``."""

    def __init__(
        self,
        secrets_path: str = ".kamal/secrets",
        destination: str | None = None,
        base_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._secrets_path = secrets_path
        self._destination = destination
        self._base_dir = Path.cwd() if base_dir is None else Path(base_dir)
        self._environ = dict(os.environ if environ is None else environ)
        self._values: dict[str, str] | None = None
        # One thread at a time: a command may ask the user for input (as in Kamal).
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        names = "not loaded" if self._values is None else f"{len(self._values)} names"
        return f"Secrets(files={self._filenames()!r}, {names})"

    def __getitem__(self, name: str) -> str:
        """Return the secret called name.

        Raises:
            ConfigError: No file defines it, worded as Kamal words it.
        """
        values = self._load()
        if name in values:
            return values[name]
        existing = self._existing_filenames()
        if existing:
            raise ConfigError(f"Secret '{name}' not found in {', '.join(existing)}")
        raise ConfigError(
            f"Secret '{name}' not found, no secret files ({', '.join(self._filenames())}) provided"
        )

    def __contains__(self, name: object) -> bool:
        """Kamal's ``key?``: defined and not blank (Ruby's ``present?``)."""
        value = self._load().get(name) if isinstance(name, str) else None
        return value is not None and value.strip() != ""

    @property
    def files(self) -> list[Path]:
        """The secrets files that exist and are (or will be) read, in override order."""
        return [self._resolve(name) for name in self._existing_filenames()]

    def names(self) -> list[str]:
        """Return every defined name, in the order the files define them."""
        return list(self._load())

    def redact(self, text: str) -> str:
        """Replace every loaded secret value (of 4 characters or more) with ``[REDACTED]``.

        Each line of a multi-line value (a PEM key) is replaced too, as tools print them line
        by line. Nothing is loaded for this: a secret never looked up cannot have been printed.
        """
        values = sorted(_redactable(self._values or {}), key=len, reverse=True)
        if not values:
            return text
        # One pass, longest first, so a secret inside a longer secret cannot leak its rest.
        return re.sub("|".join(map(re.escape, values)), REDACTED, text)

    def _load(self) -> dict[str, str]:
        with self._lock:
            if self._values is None:
                self._values = self._read_files()
            return self._values

    def _read_files(self) -> dict[str, str]:
        runner = CommandRunner(cwd=self._base_dir, environ=self._environ)
        values: dict[str, str] = {}
        for name in self._existing_filenames():
            text = self._read_text(name)
            # Each file is parsed on its own, as Kamal does: later files override earlier ones.
            values.update(parse_dotenv(text, name, self._environ, runner, _announce))
        return values

    def _read_text(self, name: str) -> str:
        try:
            return self._resolve(name).read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{name}: not valid UTF-8 (byte {error.start})") from None
        except OSError as error:
            raise ConfigError(f"{name}: cannot read: {error.strerror}") from None

    def _filenames(self) -> list[str]:
        suffix = f".{self._destination}" if self._destination else ""
        return [f"{self._secrets_path}-common", f"{self._secrets_path}{suffix}"]

    def _existing_filenames(self) -> list[str]:
        return [name for name in self._filenames() if self._resolve(name).is_file()]

    def _resolve(self, name: str) -> Path:
        return self._base_dir / name


def _announce(where: str, command: str) -> None:
    # The text as written, never the output, and before `$VAR` brings earlier secrets in.
    _log.info("Running `%s` for %s", command, where)


def _redactable(values: Mapping[str, str]) -> set[str]:
    lines = {
        line.strip() for value in values.values() if "\n" in value for line in value.split("\n")
    }
    return {v for v in (*values.values(), *lines) if len(v) >= _MIN_REDACT_LENGTH}
