"""Plan `kdeploy setup`: every play, or only the filtered roles' hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.host_contract.names import PROXY_GROUP, accessory_group, role_group
from kdeploy.plan.app_needs import app_secret_names, proxy_notices
from kdeploy.plan.deploy import boot_groups
from kdeploy.plan.hook_points import setup_points
from kdeploy.plan.model import HostsPlay, Plan, PlaybookImport, RoleImport, accessory_tag, app_tag
from kdeploy.plan.proxy import CHECK_PART, proxy_targets
from kdeploy.plan.proxy import TAGS as PROXY_TAGS
from kdeploy.selection import CommandContext, Selection

# The first hosts play of setup: Docker and the kamal network on every host.
HOSTS_PLAY = "Set up the hosts"
PROXY_PLAY = "Boot the proxy"


@dataclass(frozen=True)
class SetupOptions:
    """The options of `kdeploy setup` that shape the plan (the filters are the context's).

    `skip_push` (-P) leaves the plan as it is: the command builds and pushes first without it,
    and the hosts pull the version either way (Kamal's `build pull`, or `build deliver`).
    """

    skip_push: bool = False
    with_accessories: bool = False


@dataclass(frozen=True)
class SetupPlays:
    """Setup's plays, and the units its hooks sit beside."""

    imports: tuple[PlaybookImport | HostsPlay, ...]
    bootstrap: RoleImport
    boot_groups: tuple[tuple[HostsPlay, ...], ...]
    release: PlaybookImport


def setup_plays(config: Config, selection: Selection) -> tuple[PlaybookImport | HostsPlay, ...]:
    """Return the setup plays: every accessory of the config, the app boot of the selection.

    With a role behind the proxy, a running proxy must run the pinned image (a check before the
    lock), and the proxy boots on its hosts right after Docker, before the accessories and the
    app (Kamal's deploy boots it first).

    The lock plays stay apart (a held lock stops the run before any host is touched, and the
    release waits for every host). Bootstrap is one `free` play on every host; then the proxy
    and each accessory get a `free` play on exactly their group's hosts, in config order, as
    Kamal boots one accessory after another. No host is sent a task it would skip: a skipped
    task still costs the controller a worker process per host. The app boots as deploy boots it
    (plan/deploy.py `boot_groups`: `boot/limit` groups, `boot/wait`, the role barrier), since
    Kamal's setup runs its deploy; the play boundary before it keeps every accessory up (and
    healthy, when it has a health check) before any app role boots. A filtered setup selects
    among these plays by tag and limit (`build_setup_plan`).
    """
    return _setup_plays(config, selection).imports


def _setup_plays(config: Config, selection: Selection) -> SetupPlays:
    # The entry points without argument validation (prepare, boot, release), as deploy's boot
    # plays: the inputs are kdeploy's own inventory, and each skipped validation is one task (a
    # worker process) less per host and role.
    bootstrap = RoleImport("bootstrap", "Bootstrap Docker and the kamal network.",
                           ("bootstrap",), tasks_from="prepare")
    proxy = bool(config.proxy_roles)
    service_plays = (
        *((HostsPlay(PROXY_PLAY, (RoleImport("proxy", "Boot the proxy.", PROXY_TAGS,
                                             tasks_from="boot"),), hosts=PROXY_GROUP),)
          if proxy else ()),
        *(HostsPlay(f"Boot the accessory {acc.name}",
                    (RoleImport("accessory", f"Boot the accessory {acc.name}.",
                                ("accessory", accessory_tag(acc.name)),
                                {"accessory_name": acc.name}, tasks_from="boot"),),
                    hosts=accessory_group(acc.name))
          for acc in config.accessories),
    )
    groups = (tuple(tuple(plays) for plays in boot_groups(config, selection))
              if selection.app_hosts else ())
    release = PlaybookImport("lock_release.yml", ("lock",))
    imports = (
        *((destination_check(),) if config.accessories else ()),
        *((PlaybookImport(CHECK_PART, PROXY_TAGS),) if proxy else ()),
        PlaybookImport("lock_acquire.yml", ("lock",)),
        HostsPlay(HOSTS_PLAY, (bootstrap,)),
        *service_plays,
        *(play for plays in groups for play in plays),
        release,
    )
    return SetupPlays(imports, bootstrap, groups, release)


def destination_check(names: tuple[str, ...] = (), action: str = "boot") -> PlaybookImport:
    """The play that refuses, before the lock, an accessory another destination's container holds.

    `always`: it runs whatever --tags select and checks the accessories they select (a
    role-scoped setup's --skip-tags accessory skips it). No names: every accessory.
    """
    variables = {"accessory_check_action": action}
    if names:
        variables["accessory_check_names"] = ",".join(names)
    return PlaybookImport("accessory_destination_check.yml", ("always", "accessory"), variables)


def build_setup_plan(context: CommandContext, options: SetupOptions) -> Plan:
    """Plan `kdeploy setup`: everything, or only the filtered roles' hosts.

    A role-scoped setup selects the lock, bootstrap and those roles' app plays by tag, skips
    every accessory play (unless --with-accessories) and limits hosts to the filtered ones, so
    accessories living on those hosts are neither booted nor even inspected.
    """
    config, filters = context.config, context.filters
    if config.version is None:
        raise UsageError("No version to set up: pass --version, set VERSION, or run in a git repo")
    selection = context.selection
    if not selection.hosts:
        raise UsageError(f"No hosts to set up for --roles {filters.roles}")
    if filters.roles and not selection.app_hosts:
        # Kamal falls back to every host when the -r roles have none (allow_empty_roles):
        # setting up "nothing" must not bootstrap every host without a lock.
        raise UsageError(f"No hosts to set up for --roles {filters.roles}: "
                         "the matching roles have no servers")
    tags, skip_tags, notices = (), (), ()
    if filters.given:
        tags, skip_tags, notices = _filtered_selection(context, options)
    plays = _setup_plays(config, selection)
    return Plan(
        command="setup",
        imports=plays.imports,
        tags=tags,
        skip_tags=skip_tags,
        limit=_limit(context) if filters.given else None,
        extravars=_extravars(context, options),
        secret_names=_secret_names(config, selection,
                                   options.with_accessories or not filters.given),
        notices=(*notices, *proxy_notices(config, selection)),
        lock_host=selection.primary_host,
        # Bootstrap reaches every host of the config, or of the filters' selection.
        connect_ahead=selection.hosts if filters.given else config.all_hosts,
        hook_points=setup_points(plays.bootstrap, plays.boot_groups, plays.release),
    )


def _filtered_selection(
    context: CommandContext, options: SetupOptions
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    config, selection = context.config, context.selection
    tags = ["lock", "bootstrap", *(app_tag(role.name) for role in selection.roles)]
    if proxy_targets(config, selection):
        tags += PROXY_TAGS
    if options.with_accessories:
        tags += [accessory_tag(name) for name in selection.accessory_hosts]
        skipped = [accessory_tag(acc.name) for acc in config.accessories
                   if acc.name not in selection.accessory_hosts]
        return tuple(tags), tuple(skipped), ()
    flags = " ".join(["-P", *context.filters.as_flags()])
    notices = tuple(
        f"Accessory {name} lives on {', '.join(hosts)} and was not booted "
        f"(boot it with: kdeploy setup {flags} --with-accessories)"
        for name, hosts in selection.accessory_hosts.items()
    )
    return tuple(tags), ("accessory",), notices


def _limit(context: CommandContext) -> str:
    # A pure role filter reads best as groups; any host filter needs the exact hosts.
    filters = context.filters
    if filters.roles and not (filters.hosts or filters.primary):
        return ",".join(role_group(role.name) for role in context.selection.roles)
    return ",".join(context.selection.hosts)


def _extravars(context: CommandContext, options: SetupOptions) -> dict[str, Any]:
    return {
        "kdeploy_version": context.config.version,
        "kdeploy_lock_host": context.selection.primary_host,
        "lock_message": f"Automatic deploy lock ({context.performer})",
        "kdeploy_performer": context.performer,
        # Always pull: the version was just pushed, or pushed elsewhere (-P), maybe under a
        # tag a host already has.
        "kdeploy_pull": True,
    }


def _secret_names(config: Config, selection: Selection, accessories: bool) -> tuple[str, ...]:
    names = list(app_secret_names(config, selection))
    if accessories:
        for acc in config.accessories:
            if acc.name in selection.accessory_hosts:
                names += acc.env.secret.values()
                if acc.registry and acc.registry.password_secret:
                    names.append(acc.registry.password_secret)
    return tuple(dict.fromkeys(names))
