"""Plan `kdeploy setup`: every play, or only the filtered roles' hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.host_contract.names import PROXY_GROUP, accessory_group, role_group
from kdeploy.plan.hook_points import setup_points
from kdeploy.plan.model import HostsPlay, Plan, PlaybookImport, RoleImport, accessory_tag, app_tag
from kdeploy.plan.proxy import CHECK_PART, proxy_targets
from kdeploy.plan.proxy import TAGS as PROXY_TAGS
from kdeploy.selection import CommandContext, Selection

# The second hosts play of setup: the app roles, once every accessory is up.
APP_PLAY = "Boot the app roles"


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
    app_tasks: tuple[RoleImport, ...]
    release: PlaybookImport


def _config_plays(config: Config) -> SetupPlays:
    return _setup_plays([acc.name for acc in config.accessories],
                        [role.name for role in config.roles], proxy=bool(config.proxy_roles))


def setup_plays(accessories: list[str], roles: list[str],
                proxy: bool = False) -> tuple[PlaybookImport | HostsPlay, ...]:
    """Return the setup plays for these accessory and role names (in config order).

    `proxy`: some role runs behind the proxy. Then a running proxy must run the pinned image (a
    check before the lock), and the proxy boots on its hosts right after Docker, before the
    accessories and the app (Kamal's deploy boots it first).

    The lock plays stay apart (a held lock stops the run before any host is touched, and the
    release waits for every host). Bootstrap and accessories share one `free` play, the app roles
    another, so that hosts do not wait for each other inside a play; their tags and group guards
    keep the selections of docs/ansible-interface.md. The play boundary is the one barrier: every
    accessory is booted (and healthy, when it has a health check) on every host before any app
    role boots, as Kamal boots every accessory first.
    """
    return _setup_plays(accessories, roles, proxy).imports


def _setup_plays(accessories: list[str], roles: list[str], proxy: bool) -> SetupPlays:
    # The entry points without argument validation (prepare, boot, release), as deploy's boot
    # plays: the inputs are kdeploy's own inventory, and each skipped validation is one task (a
    # worker process) less per host and role.
    bootstrap = RoleImport("bootstrap", "Bootstrap Docker and the kamal network.",
                           ("bootstrap",), tasks_from="prepare")
    host_tasks = (
        bootstrap,
        *((RoleImport("proxy", "Boot the proxy.", PROXY_TAGS, group=PROXY_GROUP,
                      tasks_from="boot"),) if proxy else ()),
        *(RoleImport("accessory", f"Boot the accessory {name}.",
                     ("accessory", accessory_tag(name)), {"accessory_name": name},
                     accessory_group(name), tasks_from="boot")
          for name in accessories),
    )
    app_tasks = tuple(
        RoleImport("app", f"Boot the app role {name}.", ("app", app_tag(name)),
                   {"app_role": name}, role_group(name), tasks_from="release")
        for name in roles)
    release = PlaybookImport("lock_release.yml", ("lock",))
    imports = (
        *((destination_check(),) if accessories else ()),
        *((PlaybookImport(CHECK_PART, PROXY_TAGS),) if proxy else ()),
        PlaybookImport("lock_acquire.yml", ("lock",)),
        HostsPlay("Set up the hosts", host_tasks),
        *((HostsPlay(APP_PLAY, app_tasks),) if app_tasks else ()),
        release,
    )
    return SetupPlays(imports, bootstrap, app_tasks, release)


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
    plays = _config_plays(config)
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
        hook_points=setup_points(plays.bootstrap, plays.app_tasks, plays.release,
                                 selection.app_hosts),
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


def proxy_notices(config: Config, selection: Selection) -> tuple[str, ...]:
    """A notice per selected accessory Kamal runs behind kamal-proxy (kdeploy does not, yet)."""
    return tuple(
        f"Accessory {name} runs behind kamal-proxy in Kamal; kdeploy does not route accessories "
        "through the proxy yet, so it gets no proxy route"
        for name in selection.accessory_hosts if config.accessory(name).running_proxy)


def app_secret_names(config: Config, selection: Selection) -> tuple[str, ...]:
    """The secrets an app boot of the selection needs: registry login, roles' env, certificates."""
    names = list(config.registry.login_secret_names)
    for role in selection.roles:
        for host in selection.role_hosts.get(role.name, ()):
            names += role.env_for_host(host).secret.values()
        if role.running_proxy and role.proxy is not None and role.proxy.custom_ssl_certificate:
            # kamal-proxy's certificate and key for the role, written by the release.
            names += [str(role.proxy.raw["ssl"][key])
                      for key in ("certificate_pem", "private_key_pem")]
    return tuple(dict.fromkeys(names))


def _secret_names(config: Config, selection: Selection, accessories: bool) -> tuple[str, ...]:
    names = list(app_secret_names(config, selection))
    if accessories:
        for acc in config.accessories:
            if acc.name in selection.accessory_hosts:
                names += acc.env.secret.values()
                if acc.registry and acc.registry.password_secret:
                    names.append(acc.registry.password_secret)
    return tuple(dict.fromkeys(names))
