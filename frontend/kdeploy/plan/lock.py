"""Plan `kdeploy lock acquire|release|status` and `kdeploy audit`."""

from __future__ import annotations

from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.selection import CommandContext, Selection

LOCK_ACTIONS = ("acquire", "release", "status")
# Kamal's message for the lock its commands take around their work (`with_lock`).
AUTOMATIC_LOCK_MESSAGE = "Automatic deploy lock"

# The tasks whose results `kdeploy lock …` and `kdeploy audit` show (roles/lock,
# roles/audit); their names are part of the roles' interface.
LOCK_REPORT_TASKS = {
    "acquire": "Take the deploy lock.",
    "release": "Release the deploy lock.",
    "status": "Read the deploy lock.",
}
AUDIT_REPORT_TASK = "Read the audit log."


def build_lock_plan(context: CommandContext, action: str, message: str = "") -> Plan:
    """Plan `kdeploy lock acquire|release|status` on the filtered primary host (Kamal's lock host).

    Args:
        context: the command's config, filters and performer.
        action: one of LOCK_ACTIONS.
        message: `lock acquire -m`'s message.

    Raises:
        UsageError: an unknown action, no host to lock, or (acquire) no version for the details.
    """
    if action not in LOCK_ACTIONS:
        raise UsageError(f"Unknown lock action {action}: use one of {', '.join(LOCK_ACTIONS)}")
    selection = context.selection
    if selection.primary_host is None:
        raise UsageError("No host to hold the deploy lock: the config has no servers")
    extravars: dict[str, Any] = {"kdeploy_lock_host": selection.primary_host}
    if action == "acquire":
        if context.config.version is None:
            # Kamal writes the version into the lock details and fails without one as well.
            raise UsageError("No version for the lock details: pass --version, set VERSION, "
                             "or run in a git repo")
        extravars |= {"kdeploy_version": context.config.version, "lock_message": message,
                      "kdeploy_performer": context.performer,
                      "lock_performer": context.lock_owner}
    return Plan(
        command=f"lock {action}",
        imports=(PlaybookImport(f"lock_{action}.yml", ("lock",)),),
        extravars=extravars,
        entry=f"kdeploy_lock_{action}",
        report_task=LOCK_REPORT_TASKS[action],
        hook_points=connect_points(),
    )


def build_audit_plan(context: CommandContext) -> Plan:
    """Plan `kdeploy audit`: read the audit log's last lines on every filtered host.

    Raises:
        UsageError: the filters match no host.
    """
    selection = context.selection
    if not selection.hosts:
        raise UsageError("No hosts to read the audit log from")
    return Plan(
        command="audit",
        imports=(PlaybookImport("audit.yml", ("audit",)),),
        limit=",".join(selection.hosts) if context.filters.given else None,
        entry="kdeploy_audit",
        report_task=AUDIT_REPORT_TASK,
        hook_points=connect_points(),
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
        "lock_message": AUTOMATIC_LOCK_MESSAGE,
        "kdeploy_version": config.version,
        "kdeploy_performer": performer,
    }
