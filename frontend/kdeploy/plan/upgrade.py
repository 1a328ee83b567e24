"""Plan `kdeploy upgrade`: Kamal's 1.x to 2.0 migration (lib/kamal/cli/main.rb, `upgrade`).

Kamal's `upgrade` takes the lock, then on every host (`--rolling`: one host at a time) runs
`proxy upgrade` where the host is an app host and `accessory upgrade all` where it is an accessory
host. `proxy upgrade` removes Kamal 1's Traefik (`cleanup_traefik`), replaces kamal-proxy, boots
the app from the image tagged latest (or `--version`) and prunes, between the pre- and
post-proxy-reboot hooks; `accessory upgrade` reboots each accessory into the `kamal` network.
Here the same steps are kdeploy's own units in one run: the proxy role's `cleanup_traefik`, the
`proxy reboot` part, `app boot`'s boot groups, the prune role, the accessory role's `reboot`.
Pure: a command's context in, a Plan out.
"""

from __future__ import annotations

from typing import Any

from kdeploy.errors import UsageError
from kdeploy.host_contract.names import accessory_group
from kdeploy.plan.accessory import build_accessory_plan
from kdeploy.plan.deploy import build_deploy_plan
from kdeploy.plan.hook_points import connect_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import HookPoint, HostsPlay, Plan, PlaybookImport, RoleImport, accessory_tag
from kdeploy.plan.proxy import REBOOT_PART, build_proxy_plan, proxy_part, proxy_targets
from kdeploy.plan.setup import destination_check
from kdeploy.selection import CommandContext

TRAEFIK_PLAY = "Remove Traefik (Kamal 1's proxy)"
PRUNE_PLAY = "Prune old containers and images"
# Kamal's question (lib/kamal/cli/main.rb).
QUESTION = "This will replace Traefik with kamal-proxy and restart all accessories"
# Hooks of the units taken from the `app boot` plan (the others are declared here).
_BOOT_HOOKS = ("pre-app-boot", "post-app-boot")


def build_upgrade_plan(context: CommandContext, rolling: bool = False) -> Plan:
    """Plan `kdeploy upgrade` on the filtered hosts, under the deploy lock.

    Args:
        context: the command's config (its version: `--version` or latest[-dest], as Kamal's
            `proxy upgrade` boots the app), filters and performer.
        rolling: one host at a time (Kamal's `--rolling`), else every host at once.

    Raises:
        UsageError: no server to hold the lock, or no version for the lock details.
    """
    config, selection = context.config, context.selection
    if selection.primary_host is None:
        raise UsageError("No host to hold the deploy lock: the config has no servers")
    lock_vars = command_lock_vars(config, selection, context.performer)
    groups = [(host,) for host in selection.hosts] if rolling else [tuple(selection.hosts)]
    acquire = PlaybookImport("lock_acquire.yml", ("lock",))
    release = PlaybookImport("lock_release.yml", ("lock",))
    # An accessory name that another destination's container holds stops it before the lock.
    checks = ([destination_check(tuple(selection.accessory_hosts), "upgrade")]
              if selection.accessory_hosts else [])
    imports: list[PlaybookImport | HostsPlay] = [*checks, acquire]
    points: list[HookPoint] = list(connect_points())
    extravars: dict[str, Any] = {"kdeploy_performer": context.performer,
                                 "prune_retain": config.retain_containers}
    secrets: list[str] = []
    for group in groups:
        # Rolling, Kamal upgrades the proxy of app hosts only; at once, of every host.
        if not rolling or group[0] in selection.app_hosts:
            plan = _proxy_upgrade(context, group)
            imports += plan.imports
            points += plan.hook_points
            extravars |= plan.extravars
            secrets += plan.secret_names
        accessories = _accessory_upgrade(context, group)
        if accessories is not None:
            imports += accessories.imports
            extravars |= accessories.extravars
            secrets += accessories.secret_names
    imports.append(release)
    return Plan(
        command="upgrade",
        imports=tuple(imports),
        limit=",".join(dict.fromkeys([*selection.hosts, selection.primary_host])),
        extravars=extravars | lock_vars,
        secret_names=tuple(dict.fromkeys(secrets)),
        lock_host=selection.primary_host,
        hook_points=tuple(points),
    )


def _proxy_upgrade(context: CommandContext, group: tuple[str, ...]) -> Plan:
    # Kamal's `proxy upgrade` on `group`: Traefik out, kamal-proxy rebooted, the app booted from
    # the latest image, prune; the proxy reboot hooks around it all. Not a runnable plan: the
    # caller takes its units, hooks, vars and secrets.
    config = context.config
    on_group = context.refiltered(hosts=",".join(group))
    traefik = RoleImport("proxy", "Stop and remove Traefik.", ("proxy",),
                         tasks_from="cleanup_traefik")
    units: list[PlaybookImport | HostsPlay] = [
        HostsPlay(name=TRAEFIK_PLAY, tasks=(traefik,), hosts=",".join(group), strategy="linear")]
    extravars: dict[str, Any] = {}
    secrets: list[str] = []
    proxied = proxy_targets(config, on_group.selection)
    if proxied:
        reboot = build_proxy_plan(on_group, "reboot")
        units.append(proxy_part(REBOOT_PART, proxied))
        extravars |= reboot.extravars
        secrets += reboot.secret_names
    points: list[HookPoint] = []
    if on_group.selection.app_hosts:
        boot = build_deploy_plan(on_group, "app boot")
        units += [unit for unit in boot.imports if isinstance(unit, HostsPlay)]
        points += [point for point in boot.hook_points if point.hook in _BOOT_HOOKS]
        extravars |= boot.extravars
        secrets += boot.secret_names
    prune = RoleImport("prune", "Remove the service's old containers and images.", ("prune",))
    units.append(HostsPlay(name=PRUNE_PLAY, tasks=(prune,), hosts=",".join(group),
                           strategy="linear"))
    # pre-proxy-reboot before Traefik goes, post-proxy-reboot after the prune, as Kamal.
    points = [HookPoint("pre-proxy-reboot", before=traefik, hosts=group), *points,
              HookPoint("post-proxy-reboot", after=prune, hosts=group)]
    return Plan(command="proxy upgrade", imports=tuple(units), extravars=extravars,
                secret_names=tuple(secrets), hook_points=tuple(points))


def _accessory_upgrade(context: CommandContext, group: tuple[str, ...]) -> Plan | None:
    # Kamal's `accessory upgrade all` on `group`: each accessory rebooted into the kamal network
    # on its hosts of the group. None: no accessory runs there.
    selection = context.selection
    plays = []
    for name, hosts in selection.accessory_hosts.items():
        on_group = [host for host in hosts if host in group]
        if not on_group:
            continue
        reboot = RoleImport("accessory", f"Reboot the accessory {name}.",
                            ("accessory", accessory_tag(name)), {"accessory_name": name},
                            accessory_group(name), tasks_from="reboot")
        plays.append(HostsPlay(name=f"Reboot the accessory {name}", tasks=(reboot,),
                               hosts=",".join(on_group), strategy="linear"))
    if not plays:
        return None
    upgrade = build_accessory_plan(context.refiltered(hosts=",".join(group)), "upgrade", "all")
    # The accessories' report part is `accessory upgrade`'s own: not run here.
    extravars = {**upgrade.extravars, "accessory_report": False}
    return Plan(command="accessory upgrade", imports=tuple(plays), extravars=extravars,
                secret_names=upgrade.secret_names)
