"""One command's resolved inputs, worked out once: Kamal's Commander for kdeploy.

Kamal's `Commander` keeps `specific_roles`, `specific_hosts` and `specific_primary` and answers
every question about them from there. A `CommandContext` does the same for one kdeploy command:
the loaded config (destination, version), the `-r/-h/-p` filters, the selection they make and
who runs the command. The selection and the performer are worked out on first use, not up
front: a builder checks its own arguments before it selects, so its own errors still come first,
and git runs only for a command that names its performer.
"""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from kdeploy.config import Config, load_config
from kdeploy.selection.filters import Selection, select


@dataclass(frozen=True)
class Filters:
    """`-r/-h/-p` as the user gave them (Kamal's specific_roles, specific_hosts, primary)."""

    roles: str | None = None
    hosts: str | None = None
    primary: bool = False

    @property
    def given(self) -> bool:
        """Whether any filter narrows the command (else it acts on every host)."""
        return bool(self.roles or self.hosts or self.primary)

    def as_flags(self) -> list[str]:
        """The filters as command-line flags, for a message that says what to run next."""
        return [*([f"-r {self.roles}"] if self.roles else []),
                *([f"-h {self.hosts}"] if self.hosts else []),
                *(["-p"] if self.primary else [])]


class CommandContext:
    """The config, filters, selection and performer of one command."""

    def __init__(self, config: Config, filters: Filters = Filters(), *,
                 requested_version: str | None = None, performer: str | None = None,
                 lock_owner: str | None = None) -> None:
        """Hold a loaded config and the command's filters.

        Args:
            config: the loaded config (its version is the one the command acts on).
            filters: `-r/-h/-p`.
            requested_version: `--version` as typed (None: not given); `app exec` runs it
                instead of the latest image, which `config.version` cannot tell apart.
            performer: who runs the command; None: found on first use (`find_performer`).
            lock_owner: who the lock details name; None: found on first use
                (`find_lock_owner`).
        """
        self.config = config
        self.filters = filters
        self.requested_version = requested_version
        self._performer = performer
        self._lock_owner = lock_owner

    @cached_property
    def selection(self) -> Selection:
        """The roles and hosts the filters select (Kamal's rules).

        Raises:
            UsageError: `No --roles match for X` / `No --hosts match for X`.
        """
        return select(self.config, roles=self.filters.roles, hosts=self.filters.hosts,
                      primary=self.filters.primary)

    @property
    def performer(self) -> str:
        """Who runs the command (the lock details, the audit log, KAMAL_PERFORMER)."""
        if self._performer is None:
            self._performer = find_performer()
        return self._performer

    @property
    def lock_owner(self) -> str:
        """Who the lock details name (`Locked by:`): git's user.name, as Kamal writes it."""
        if self._lock_owner is None:
            self._lock_owner = find_lock_owner()
        return self._lock_owner

    def refiltered(self, **changes: str | bool | None) -> CommandContext:
        """The same command with other filters (`app logs -f` follows the primary role).

        Args:
            **changes: new values for `roles`, `hosts` or `primary`.
        """
        return CommandContext(self.config, replace(self.filters, **changes),
                              requested_version=self.requested_version,
                              performer=self._performer, lock_owner=self._lock_owner)


def load_context(config_file: str | Path, destination: str | None = None, *,
                 version: str | None = None, filters: Filters = Filters(),
                 requested_version: str | None = None,
                 environ: Mapping[str, str] | None = None) -> CommandContext:
    """Load the config (`load_config`) and hold it with the command's filters.

    Raises:
        ConfigError: the config cannot be loaded (see `load_config`).
    """
    config = load_config(config_file, destination, version=version, environ=environ)
    return CommandContext(config, filters, requested_version=requested_version)


def find_lock_owner() -> str:
    """Kamal's `locked_by`: git's user.name (empty when unset), "Unknown" without git."""
    name = _git_config("user.name")
    return "Unknown" if name is None else name


def find_performer() -> str:
    """Who runs the deploy: git's user.email like Kamal, else the login name."""
    return _git_config("user.email") or getpass.getuser()


def _git_config(key: str) -> str | None:
    # `git config KEY` as Kamal reads it (empty when unset); None when git cannot run.
    try:
        return subprocess.run(["git", "config", key], capture_output=True, text=True,
                              check=False, timeout=5).stdout.strip()
    except OSError:
        return None
