"""Plan `kdeploy build pull` (and the pull half of `build deliver`): the image onto app hosts."""

from __future__ import annotations

from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.model import Plan, PlaybookImport
from kdeploy.selection import CommandContext

# The task whose per-host result (the image's `service` label) `build pull` reports
# (roles/pull); its name is part of the role's interface.
PULL_REPORT_TASK = "Read the image's service label."
PULL_COMMANDS = ("build pull", "build deliver")


def build_pull_plan(context: CommandContext, command: str = "build pull") -> Plan:
    """Plan the pull of `<repo>:<version>` on the filtered app hosts (Kamal's `build pull`).

    Not locked, as in Kamal. `command` is `build deliver` when the pull follows a push: the
    pre-connect hook then already ran before the build and does not run again.

    Raises:
        ConfigError: no version to pull.
        UsageError: the filters leave no app host, or the registry is Kamal's local one.
    """
    config = context.config
    if command not in PULL_COMMANDS:
        raise UsageError(f"Unknown pull command {command}: use one of {', '.join(PULL_COMMANDS)}")
    image = config.absolute_image
    if config.registry.local:
        # Kamal forwards the local registry's port to every host over SSH while they pull.
        raise UsageError(f"kdeploy cannot pull from a local registry ({config.registry.server}) "
                         "yet: use a registry the hosts can reach")
    selection = context.selection
    if not selection.app_hosts:
        raise UsageError(f"No app hosts to pull {image} on")
    return Plan(
        command=command,
        imports=(PlaybookImport("build_pull.yml", ("pull",)),),
        # The app hosts only: accessory-only hosts never run the app image.
        limit=",".join(selection.app_hosts),
        extravars={"kdeploy_version": config.version, "kdeploy_performer": context.performer},
        secret_names=config.registry.secret_names,
        entry=f"kdeploy_{command.replace(' ', '_')}",
        report_task=PULL_REPORT_TASK,
        hook_points=connect_points(),
    )
