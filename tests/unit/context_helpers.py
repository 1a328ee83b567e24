"""A command's context for a plan builder, built the way the CLI builds it."""

from __future__ import annotations

from kdeploy.config import Config
from kdeploy.selection import CommandContext, Filters


def context(config: Config, roles: str | None = None, hosts: str | None = None,
            primary: bool = False, performer: str = "kdeploy",
            version: str | None = None, lock_owner: str = "Kay Deploy") -> CommandContext:
    """`config` with the filters `-r/-h/-p`, a fixed performer and `--version` as typed."""
    return CommandContext(config, Filters(roles=roles, hosts=hosts, primary=primary),
                          requested_version=version, performer=performer, lock_owner=lock_owner)
