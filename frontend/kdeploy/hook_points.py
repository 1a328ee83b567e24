"""Where hooks sit in a command's plays, and the plan split into runs at the hooks that exist.

Pure: a Plan and the names of the hooks that will run in, a sequence of steps out (a Plan to run,
or a hook point). kdeploy runs a command as ONE ansible-playbook (lock play, hosts play, unlock
play): every extra run costs an Ansible start-up and a new SSH connection per host. So the plays
are cut only at points where some hook (Kamal's or an `x-kdeploy` playbook) will actually run;
without hooks the plan comes back whole. Hooks cannot be plays of the same run instead: a Kamal
hook is a local program that needs its own environment and Kamal's failure message, and a failing
hook must stop the command before the next play starts.

Positions follow Kamal's `setup` (`lib/kamal/cli/main.rb`): pre-connect before the first
connection, docker-setup after the bootstrap, pre-deploy once the lock is held and Docker is set
up, pre-app-boot / post-app-boot around the app boot (Kamal's one boot group without
`boot/limit`), post-deploy after the app booted but before the lock is released (setup holds
the lock around its inner deploy, so Kamal runs post-deploy there with KAMAL_LOCK=true).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from kdeploy.plan import HostsPlay, Plan, PlaybookImport, RoleImport
from kdeploy.plan.deploy import ROLLBACK_CHECK_PLAY, boot_group_name
from kdeploy.plan.proxy import ACTIONS as PROXY_ACTIONS
from kdeploy.plan.proxy import HOSTS_VAR as PROXY_HOSTS_VAR
from kdeploy.plan.proxy import REBOOT_PART as PROXY_REBOOT_PART

# One unit of a plan: an imported part playbook, or one task of a hosts play (with its play).
Unit = tuple[PlaybookImport | RoleImport, HostsPlay | None]
Anchor = Callable[[Sequence[Unit]], int | None]


@dataclass(frozen=True)
class HookPoint:
    """A hook of a command: where it runs among the plan's units and what it is told."""

    hook: str
    at: Anchor
    lock: bool = True  # KAMAL_LOCK at this point
    app_hosts: bool = False  # KAMAL_HOSTS is the boot group (the selected app hosts)
    runtime: bool = False  # KAMAL_RUNTIME is set (post-deploy)
    hosts: tuple[str, ...] | None = None  # KAMAL_HOSTS is this boot group (deploy's groups)


def at_start(units: Sequence[Unit]) -> int:
    """Before every play."""
    return 0


def after_last(tag: str) -> Anchor:
    """After the last unit tagged `tag` (None: no such unit, the hook has no place)."""
    def anchor(units: Sequence[Unit]) -> int | None:
        found = [index for index, (unit, _) in enumerate(units) if tag in unit.tags]
        return found[-1] + 1 if found else None
    return anchor


def before_first(tag: str) -> Anchor:
    """Before the first unit tagged `tag`."""
    def anchor(units: Sequence[Unit]) -> int | None:
        return next((index for index, (unit, _) in enumerate(units) if tag in unit.tags), None)
    return anchor


def after_first(tag: str) -> Anchor:
    """After the first unit tagged `tag` (the lock acquisition)."""
    def anchor(units: Sequence[Unit]) -> int | None:
        found = next((index for index, (unit, _) in enumerate(units) if tag in unit.tags), None)
        return None if found is None else found + 1
    return anchor


def around_play(name: str, end: bool,
                group: Callable[[HostsPlay], str | None] = lambda play: play.name) -> Anchor:
    """Before the first (end=False) or after the last (end=True) task of the plays `name`.

    `group` names a play: its name by default; deploy's boot plays are named by their group.
    """
    def anchor(units: Sequence[Unit]) -> int | None:
        found = [index for index, (_, play) in enumerate(units)
                 if play is not None and group(play) == name]
        if not found:
            return None
        return found[-1] + 1 if end else found[0]
    return anchor


def before_last(tag: str) -> Anchor:
    """Before the last unit tagged `tag` (the lock release)."""
    def anchor(units: Sequence[Unit]) -> int | None:
        found = [index for index, (unit, _) in enumerate(units) if tag in unit.tags]
        return found[-1] if found else None
    return anchor


SETUP_HOOKS = (
    HookPoint("pre-connect", at_start, lock=False),
    HookPoint("docker-setup", after_last("bootstrap")),
    HookPoint("pre-deploy", after_last("bootstrap")),
    HookPoint("pre-app-boot", before_first("app"), app_hosts=True),
    HookPoint("post-app-boot", after_last("app"), app_hosts=True),
    HookPoint("post-deploy", before_last("lock"), runtime=True),
)

# Every Kamal command that connects runs pre-connect first (`cli/base.rb#on`), lock or not.
CONNECT_HOOKS = (HookPoint("pre-connect", at_start, lock=False),)

# Command -> its hook points in Kamal's order. A command not listed runs no hooks.
COMMAND_HOOKS: dict[str, tuple[HookPoint, ...]] = {
    "setup": SETUP_HOOKS,
    "lock acquire": CONNECT_HOOKS,
    "lock release": CONNECT_HOOKS,
    "lock status": CONNECT_HOOKS,
    "audit": CONNECT_HOOKS,
    "prune all": CONNECT_HOOKS,
    "prune images": CONNECT_HOOKS,
    "prune containers": CONNECT_HOOKS,
    "registry login": CONNECT_HOOKS,
    "registry logout": CONNECT_HOOKS,
    "server exec": CONNECT_HOOKS,
    "build pull": CONNECT_HOOKS,
    # Kamal's app subcommands, `remove` and `details` run pre-connect first and no other hook.
    **dict.fromkeys(("app details", "app containers", "app images", "app version", "app logs",
                     "app exec", "app stale_containers", "app start", "app stop", "app remove",
                     "remove", "details"), CONNECT_HOOKS),
    # Kamal's accessory subcommands run pre-connect first and no other hook (cli/base.rb#on).
    **dict.fromkeys(tuple(f"accessory {action}" for action in (
        "boot", "reboot", "upgrade", "start", "stop", "restart", "remove", "details", "logs",
        "exec")), CONNECT_HOOKS),
    # Kamal's proxy subcommands run pre-connect first; reboot adds its hooks per host group.
    **dict.fromkeys(tuple(f"proxy {action}" for action in PROXY_ACTIONS), CONNECT_HOOKS),
    # Kamal's `server bootstrap`: docker-setup after the bootstrap, while the lock is held.
    "server bootstrap": (HookPoint("pre-connect", at_start, lock=False),
                         HookPoint("docker-setup", after_last("bootstrap"))),
}

# Kamal's deploy, redeploy and rollback (`lib/kamal/cli/main.rb`): pre-deploy once the lock is
# held (rollback: after its version check), boot hooks around each boot group (added per plan),
# post-deploy after the lock is released.
DEPLOY_COMMANDS = ("deploy", "redeploy", "rollback")
DEPLOY_HOOKS = (
    HookPoint("pre-connect", at_start, lock=False),
    HookPoint("pre-deploy", lambda units: around_play(ROLLBACK_CHECK_PLAY, end=True)(units)
              or after_first("lock")(units)),
    HookPoint("post-deploy", after_last("lock"), lock=False, runtime=True),
)
for _command in DEPLOY_COMMANDS:
    COMMAND_HOOKS[_command] = DEPLOY_HOOKS
COMMAND_HOOKS["app boot"] = (HookPoint("pre-connect", at_start, lock=False),)

Step = Plan | HookPoint


def hook_points(plan: Plan) -> tuple[HookPoint, ...]:
    """The hook points of a plan's command (none for a command Kamal runs no hooks in).

    Deploy-like commands get `pre-app-boot` / `post-app-boot` around each boot group, told the
    group's hosts (KAMAL_HOSTS), as Kamal runs them around each `boot/limit` group.
    """
    points = COMMAND_HOOKS.get(plan.command, ())
    if plan.command == "proxy reboot":
        return (*points, *_proxy_reboot_points(plan))
    if plan.command not in (*DEPLOY_COMMANDS, "app boot"):
        return points
    groups: dict[str, list[str]] = {}
    for entry in plan.imports:
        if isinstance(entry, HostsPlay) and (group := boot_group_name(entry)) is not None:
            hosts = groups.setdefault(group, [])
            hosts += [host for host in entry.hosts.split(",") if host not in hosts]
    boot_points = tuple(
        point for group, hosts in groups.items() for point in (
            HookPoint("pre-app-boot", around_play(group, False, boot_group_name),
                      hosts=tuple(hosts)),
            HookPoint("post-app-boot", around_play(group, True, boot_group_name),
                      hosts=tuple(hosts)),
        ))
    # pre-deploy/post-deploy stay outside the boot hooks: order is pre-deploy, boot hooks, post.
    return (*points[:2], *boot_points, *points[2:])


def _proxy_reboot_points(plan: Plan) -> tuple[HookPoint, ...]:
    # Kamal runs pre-proxy-reboot and post-proxy-reboot around each host group of the reboot
    # (every proxy host at once, or one host at a time with --rolling).
    reboots = [entry for entry in plan.imports
               if isinstance(entry, PlaybookImport) and entry.playbook == PROXY_REBOOT_PART]
    return tuple(
        point for entry in reboots for point in (
            HookPoint("pre-proxy-reboot", around_import(entry, end=False),
                      hosts=tuple(entry.vars[PROXY_HOSTS_VAR].split(","))),
            HookPoint("post-proxy-reboot", around_import(entry, end=True),
                      hosts=tuple(entry.vars[PROXY_HOSTS_VAR].split(","))),
        ))


def around_import(entry: PlaybookImport, end: bool) -> Anchor:
    """Before (end=False) or after (end=True) one imported part playbook."""
    def anchor(units: Sequence[Unit]) -> int | None:
        found = next((index for index, (unit, _) in enumerate(units) if unit is entry), None)
        return None if found is None else found + int(end)
    return anchor


def plan_units(plan: Plan) -> list[Unit]:
    """The plan flattened: part imports as they are, each hosts-play task with its play."""
    units: list[Unit] = []
    for entry in plan.imports:
        if isinstance(entry, HostsPlay):
            units += [(task, entry) for task in entry.tasks]
        else:
            units.append((entry, None))
    return units


def split_plan(plan: Plan, points: Sequence[HookPoint], running: set[str]) -> list[Step]:
    """The plan as runs and hook points, cut only where a hook in `running` sits.

    Runs whose units the plan's tags all deselect are dropped (an ansible-playbook start for
    nothing); the hook points around them stay, in order.
    """
    units = plan_units(plan)
    placed = [(point, index) for point in points if point.hook in running
              and (index := point.at(units)) is not None]
    if not placed:
        return [plan]
    cuts = sorted({index for _, index in placed} | {0, len(units)})
    steps: list[Step] = [point for point, index in placed if index == 0]
    for start, end in itertools.pairwise(cuts):
        segment = units[start:end]
        if any(_selected(unit, plan) for unit, _ in segment):
            steps.append(replace(plan, imports=_regroup(segment)))
        steps += [point for point, index in placed if index == end]
    return steps


def _selected(unit: PlaybookImport | RoleImport, plan: Plan) -> bool:
    # Ansible's selection: any --tags tag (or no --tags; `always` runs whatever --tags say), and
    # no --skip-tags tag.
    tags = set(unit.tags)
    return ((not plan.tags or "always" in tags or bool(tags & set(plan.tags)))
            and not tags & set(plan.skip_tags))


def _regroup(segment: Sequence[Unit]) -> tuple[PlaybookImport | HostsPlay, ...]:
    # Consecutive tasks of the same hosts play become one play again (same name and settings).
    entries: list[PlaybookImport | HostsPlay] = []
    for unit, play in segment:
        if play is None:
            entries.append(unit)  # type: ignore[arg-type]
        elif entries and isinstance(entries[-1], HostsPlay) and entries[-1].name == play.name:
            entries[-1] = replace(entries[-1], tasks=(*entries[-1].tasks, unit))
        else:
            entries.append(replace(play, tasks=(unit,)))
    return tuple(entries)
