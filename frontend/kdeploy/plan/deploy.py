"""Plan `kdeploy deploy`, `redeploy`, `rollback VERSION` and `app boot`: Kamal's app boot, by group.

Kamal boots the filtered app hosts (primary-role hosts first) in groups of `boot/limit` hosts,
waiting `boot/wait` seconds between groups; a failing group stops the later ones. On each host the
primary role boots first, and other roles wait until the first primary-role container is healthy
(the role barrier). Here each group is one `linear`, `any_errors_fatal` play of one release per
host (and one more play per further role of a host); the release's action plugin holds the other
roles at the barrier, and one failure ends the run before any later play or group.
"""

from __future__ import annotations

import re
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.host_contract.names import role_group
from kdeploy.plan.app_needs import app_secret_names, proxy_notices
from kdeploy.plan.hook_points import boot_group_points, connect_points, deploy_points
from kdeploy.plan.model import HostsPlay, Plan, PlaybookImport, RoleImport, app_tag
from kdeploy.plan.proxy import proxy_check, proxy_part, proxy_targets
from kdeploy.selection import CommandContext, Selection

# Commands planned here -> what they do besides the boot (Kamal's lib/kamal/cli/main.rb).
COMMANDS = ("deploy", "redeploy", "rollback", "app boot")
BOOT_PLAY = "Boot the app"
# The name of a group's play for each host's second, third, ... role (the first has none).
_SLOT_SUFFIX = ": role {} of each host"
_BOOT_PLAY_NAME = re.compile(re.escape(BOOT_PLAY) + r"( \(group \d+ of \d+\))?"
                             r"(: role (?P<slot>\d+) of each host)?")
ROLLBACK_CHECK_PLAY = "Check that every host has the version"


def build_deploy_plan(context: CommandContext, command: str = "deploy") -> Plan:
    """Plan one of COMMANDS: lock, (rollback: check the version), the boot groups, unlock.

    `deploy` first checks that every running proxy runs the pinned image, then boots the proxy
    where it is missing. `deploy` and `redeploy` pull the image on every host (Kamal's `build
    pull` or `deliver` has just pushed it); `rollback` and `app boot` use the image the host has,
    pulling only a missing one. `redeploy` keeps every stopped container (Kamal runs no prune
    there).

    Args:
        context: the command's config, filters and performer.
        command: one of COMMANDS.

    Raises:
        UsageError: no version, or no app host in the filtered hosts.
    """
    config = context.config
    if command not in COMMANDS:
        raise UsageError(f"Unknown deploy command {command}")
    if config.version is None:
        raise UsageError(f"No version to {command}: pass --version, set VERSION, "
                         "or run in a git repo")
    selection = context.selection
    if not selection.app_hosts:
        roles = context.filters.roles
        raise UsageError(f"No app hosts to {command}" + (f" for --roles {roles}" if roles else ""))
    proxied = proxy_targets(config, selection) if command == "deploy" else ()
    acquire = PlaybookImport("lock_acquire.yml", ("lock",))
    imports: list[PlaybookImport | HostsPlay] = [
        # A proxy running another image than the pinned one stops the deploy before it starts.
        *((proxy_check(proxied),) if proxied else ()),
        acquire,
    ]
    check = _rollback_check(selection) if command == "rollback" else None
    if check is not None:
        imports.append(check)
    if proxied:
        # Kamal's deploy boots the proxy (a running one is left alone) before the app.
        imports.append(proxy_part("proxy_boot.yml", proxied))
    groups = boot_groups(config, selection)
    imports += [play for plays in groups for play in plays]
    release = PlaybookImport("lock_release.yml", ("lock",))
    imports.append(release)
    # `app boot` runs pre-connect and the boot hooks only (Kamal's `app boot`).
    points = (deploy_points(acquire, check, groups, release) if command != "app boot"
              else (*connect_points(), *boot_group_points(groups)))
    return Plan(
        command=command,
        entry=command.replace(" ", "_"),
        imports=tuple(imports),
        extravars=_extravars(context, command),
        secret_names=app_secret_names(config, selection),
        notices=proxy_notices(config, selection),
        lock_host=selection.primary_host,
        connect_ahead=selection.hosts,
        hook_points=points,
    )


def boot_groups(config: Config, selection: Selection) -> list[list[HostsPlay]]:
    """The boot plays, per `boot/limit` group of app hosts: one task per host and role.

    Kamal (`boot.parallel_roles` false) boots the hosts of a group in parallel, and on each host
    its roles one after another, primary role first. Here a group's first play sends every host
    of the group one task, the release of the host's first role; a second play sends the hosts
    that have a second role their second one, and so on. No host gets a task it would skip: a
    skipped task still costs the controller a worker process per host, and the boot is CPU-bound
    on the controller. The tasks import the role's `release` tasks, which skip the per-host
    argument validation of `main` (the inventory is kdeploy's own, checked when the config
    loaded).

    Kamal's role barrier: in the first group (primary-role hosts come first, so the barrier is
    decided there and later groups find it open), the other roles wait until the first
    primary-role container is healthy, and do not boot if it failed. The release's action plugin
    keeps that barrier on the controller (docs/deploy.md, "The role barrier").
    """
    hosts = list(selection.app_hosts)
    size = config.boot.group_size(len(config.all_hosts)) or len(hosts)
    groups = [hosts[start:start + size] for start in range(0, len(hosts), size)]
    primary = selection.roles[0].name if selection.roles else None
    plays: list[list[HostsPlay]] = []
    for number, group in enumerate(groups, start=1):
        name = BOOT_PLAY if len(groups) == 1 else f"{BOOT_PLAY} (group {number} of {len(groups)})"
        host_roles = {host: [role.name for role in selection.roles
                             if host in selection.role_hosts.get(role.name, ())]
                      for host in group}
        group_roles = {role for roles in host_roles.values() for role in roles}
        barrier = number == 1 and primary in group_roles and len(group_roles) > 1
        plays.append([])
        slots = max((len(roles) for roles in host_roles.values()), default=0)
        for slot in range(slots):
            slot_hosts = [host for host, roles in host_roles.items() if len(roles) > slot]
            slot_roles = list(dict.fromkeys(host_roles[host][slot] for host in slot_hosts))
            plays[-1].append(HostsPlay(
                name=name + (_SLOT_SUFFIX.format(slot + 1) if slot else ""),
                tasks=(RoleImport(
                    "app", f"Boot the app role {', '.join(slot_roles)}.",
                    ("app", *(app_tag(role) for role in slot_roles)),
                    {"kdeploy_slot_roles": {host: host_roles[host][slot] for host in slot_hosts},
                     **({"kdeploy_barrier_role": primary,
                         "kdeploy_barrier_group": role_group(primary)} if barrier else {})},
                    tasks_from="release"),),
                hosts=",".join(slot_hosts),
                strategy="linear",
                any_errors_fatal=True,
                pause_after=int(config.boot.wait or 0)
                if slot == slots - 1 and number < len(groups) else 0,
            ))
    return plays


def boot_slot(play: str) -> int | None:
    """Which of its host's roles a boot play boots (0: the first), None for another play."""
    match = _BOOT_PLAY_NAME.fullmatch(play)
    return None if match is None else int(match["slot"] or 1) - 1


def _rollback_check(selection: Selection) -> HostsPlay:
    # Kamal checks every role on every app host before it touches any of them.
    return HostsPlay(
        name=ROLLBACK_CHECK_PLAY,
        tasks=tuple(RoleImport("app", f"Check the version of the app role {role.name}.",
                               ("app", app_tag(role.name)), {"app_role": role.name},
                               role_group(role.name), tasks_from="version_exists")
                    for role in selection.roles),
        hosts=",".join(selection.app_hosts),
        strategy="linear",
        any_errors_fatal=True,
    )


def _extravars(context: CommandContext, command: str) -> dict[str, Any]:
    extravars: dict[str, Any] = {
        "kdeploy_version": context.config.version,
        "kdeploy_lock_host": context.selection.primary_host,
        "lock_message": f"Automatic deploy lock ({context.performer})",
        "kdeploy_performer": context.performer,
        # deploy/redeploy pull what was just pushed; rollback boots the image the host kept.
        "kdeploy_pull": command in ("deploy", "redeploy"),
    }
    if command != "deploy":
        # Only `kamal deploy` prunes (and setup, which deploys).
        extravars["kdeploy_retain_containers"] = None
    return extravars
