"""Where Kamal runs each hook of a command: the points the builders declare beside their units.

Positions follow Kamal 2.11 (`lib/kamal/cli/main.rb`, `cli/base.rb#on`): pre-connect before the
first connection, docker-setup after the bootstrap, pre-deploy once the lock is held (and Docker
is set up), pre-app-boot / post-app-boot around each boot group, post-deploy after the app
booted. Setup holds the lock around its inner deploy, so Kamal runs post-deploy there with
KAMAL_LOCK=true; deploy runs it after the lock is released.
"""

from __future__ import annotations

from collections.abc import Sequence

from kdeploy.plan.model import HookPoint, HostsPlay, Plan, PlaybookImport, RoleImport


def hook_points(plan: Plan) -> tuple[HookPoint, ...]:
    """The hook points of a plan's command (none for a command Kamal runs no hooks in)."""
    return plan.hook_points


def connect_points() -> tuple[HookPoint, ...]:
    """Every Kamal command that connects runs pre-connect first (`cli/base.rb#on`), lock or not."""
    return (HookPoint("pre-connect", lock=False),)


def bootstrap_points(bootstrap: PlaybookImport) -> tuple[HookPoint, ...]:
    """`server bootstrap`: docker-setup after the bootstrap, while the lock is held."""
    return (*connect_points(), HookPoint("docker-setup", after=bootstrap))


def setup_points(bootstrap: RoleImport, groups: Sequence[Sequence[HostsPlay]],
                 release: PlaybookImport) -> tuple[HookPoint, ...]:
    """Setup: Kamal's setup, whose deploy boots the app in its boot groups.

    Args:
        bootstrap: the task that installs Docker (docker-setup and pre-deploy follow it).
        groups: the app's boot groups, as deploy's (none: no boot hooks).
        release: the lock release (post-deploy runs before it, inside the lock).
    """
    return (*connect_points(),
            HookPoint("docker-setup", after=bootstrap),
            HookPoint("pre-deploy", after=bootstrap),
            *boot_group_points(groups),
            HookPoint("post-deploy", before=release, runtime=True))


def boot_group_points(groups: Sequence[Sequence[HostsPlay]]) -> tuple[HookPoint, ...]:
    """pre-app-boot / post-app-boot around each boot group, told the group's hosts.

    Args:
        groups: each boot group's plays (one per role, primary role first).
    """
    points: list[HookPoint] = []
    for plays in groups:
        if not plays:
            continue  # a group without a role to boot has no boot to surround
        hosts: list[str] = []
        for play in plays:
            hosts += [host for host in play.hosts.split(",") if host not in hosts]
        points += [HookPoint("pre-app-boot", before=plays[0].tasks[0], hosts=tuple(hosts)),
                   HookPoint("post-app-boot", after=plays[-1].tasks[-1], hosts=tuple(hosts))]
    return tuple(points)


def deploy_points(acquire: PlaybookImport, check: HostsPlay | None,
                  groups: Sequence[Sequence[HostsPlay]],
                  release: PlaybookImport) -> tuple[HookPoint, ...]:
    """Deploy, redeploy and rollback: pre-deploy, the boot hooks, post-deploy.

    pre-deploy runs once the lock is held (rollback: after its version check), the boot hooks
    around each boot group, post-deploy after the lock is released.
    """
    ready = check.tasks[-1] if check is not None and check.tasks else acquire
    return (*connect_points(),
            HookPoint("pre-deploy", after=ready),
            *boot_group_points(groups),
            HookPoint("post-deploy", after=release, lock=False, runtime=True))


def proxy_reboot_points(reboots: Sequence[PlaybookImport],
                        hosts: Sequence[tuple[str, ...]]) -> tuple[HookPoint, ...]:
    """pre-proxy-reboot and post-proxy-reboot around each host group of a proxy reboot.

    Kamal reboots every proxy host at once, or one host at a time with --rolling.

    Args:
        reboots: the reboot part of each host group.
        hosts: each group's hosts.
    """
    return tuple(point for reboot, group in zip(reboots, hosts, strict=True) for point in (
        HookPoint("pre-proxy-reboot", before=reboot, hosts=group),
        HookPoint("post-proxy-reboot", after=reboot, hosts=group)))
