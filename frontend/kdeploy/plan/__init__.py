"""Build the plan for a command: which plays, with which tags, limit and extra vars.

Pure: a Config and the command's options in, a frozen Plan out. Nothing here touches a host;
`runner` executes plans and `cli` orchestrates. One module per command family.
"""

from __future__ import annotations

from kdeploy.host_contract.names import accessory_group, role_group
from kdeploy.plan.deploy import build_deploy_plan
from kdeploy.plan.lock import (
    AUDIT_REPORT_TASK,
    LOCK_ACTIONS,
    LOCK_REPORT_TASKS,
    build_audit_plan,
    build_lock_plan,
)
from kdeploy.plan.model import HostsPlay, Plan, PlaybookImport, RoleImport, accessory_tag, app_tag
from kdeploy.plan.setup import SetupOptions, build_setup_plan, setup_plays

__all__ = [
    "AUDIT_REPORT_TASK",
    "LOCK_ACTIONS",
    "LOCK_REPORT_TASKS",
    "HostsPlay",
    "Plan",
    "PlaybookImport",
    "RoleImport",
    "SetupOptions",
    "accessory_group",
    "accessory_tag",
    "app_tag",
    "build_audit_plan",
    "build_deploy_plan",
    "build_lock_plan",
    "build_setup_plan",
    "role_group",
    "setup_plays",
]
