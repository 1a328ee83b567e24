"""Plan `kdeploy lock acquire|release|status` and `kdeploy audit`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.selection import Selection, select

LOCK_ACTIONS = ("acquire", "release", "status")
# Kamal's message for the lock its commands take around their work (`with_lock`).
AUTOMATIC_LOCK_MESSAGE = "Automatic deploy lock"

# The tasks whose results `kdeploy lock …` and `kdeploy audit` show (roles/kdeploy_lock,
# roles/kdeploy_audit); their names are part of the roles' interface.
LOCK_REPORT_TASKS = {
    "acquire": "Take the deploy lock.",
    "release": "Release the deploy lock.",
    "status": "Read the deploy lock.",
}
AUDIT_REPORT_TASK = "Read the audit log."


@dataclass(frozen=True)
class FilterOptions:
    """Kamal's host filters (-r/-h/-p), for commands that take no other option."""

    roles: str | None = None
    hosts: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class LockOptions:
    """The options of `kdeploy lock acquire|release|status`."""

    roles: str | None = None
    hosts: str | None = None
    primary: bool = False
    message: str = ""
    performer: str = "kdeploy"


def build_lock_plan(config: Config, action: str, options: LockOptions) -> Plan:
    """Plan `kdeploy lock acquire|release|status` on the filtered primary host (Kamal's lock host).

    Raises:
        UsageError: an unknown action, no host to lock, or (acquire) no version for the details.
    """
    if action not in LOCK_ACTIONS:
        raise UsageError(f"Unknown lock action {action}: use one of {', '.join(LOCK_ACTIONS)}")
    selection = select(config, roles=options.roles, hosts=options.hosts, primary=options.primary)
    if selection.primary_host is None:
        raise UsageError("No host to hold the deploy lock: the config has no servers")
    extravars: dict[str, Any] = {"kdeploy_lock_host": selection.primary_host}
    if action == "acquire":
        if config.version is None:
            # Kamal writes the version into the lock details and fails without one as well.
            raise UsageError("No version for the lock details: pass --version, set VERSION, "
                             "or run in a git repo")
        extravars |= {"kdeploy_version": config.version, "kdeploy_lock_message": options.message,
                      "kdeploy_performer": options.performer}
    return Plan(
        command=f"lock {action}",
        imports=(PlaybookImport(f"lock_{action}.yml", ("lock",)),),
        extravars=extravars,
        entry=f"kdeploy_lock_{action}",
        report_task=LOCK_REPORT_TASKS[action],
    )


def build_audit_plan(config: Config, options: FilterOptions) -> Plan:
    """Plan `kdeploy audit`: read the audit log's last lines on every filtered host.

    Raises:
        UsageError: the filters match no host.
    """
    selection = select(config, roles=options.roles, hosts=options.hosts, primary=options.primary)
    if not selection.hosts:
        raise UsageError("No hosts to read the audit log from")
    filtered = bool(options.roles or options.hosts or options.primary)
    return Plan(
        command="audit",
        imports=(PlaybookImport("audit.yml", ("audit",)),),
        limit=",".join(selection.hosts) if filtered else None,
        entry="kdeploy_audit",
        report_task=AUDIT_REPORT_TASK,
    )


def command_lock_vars(config: Config, selection: Selection, performer: str) -> dict[str, Any]:
    """The extra vars of the lock a command takes around its work, on the filtered primary host.

    Raises:
        UsageError: no version (Kamal writes it into the lock details and fails without one too).
    """
    if config.version is None:
        raise UsageError("No version for the lock details: pass --version, set VERSION, "
                         "or run in a git repo")
    return {
        "kdeploy_lock_host": selection.primary_host,
        "kdeploy_lock_message": AUTOMATIC_LOCK_MESSAGE,
        "kdeploy_version": config.version,
        "kdeploy_performer": performer,
    }
