"""Build the plan for a command: which plays, with which tags, limit and extra vars.

Pure: a Config and the command's options in, a frozen Plan out. Nothing here touches a host;
`runner` executes plans and `cli` orchestrates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdeploy.config import Config, Selection, select
from kdeploy.errors import UsageError
from kdeploy.inventory import accessory_group, role_group

_UNSAFE_TAG = str.maketrans({char: "_" for char in "-. "})


@dataclass(frozen=True)
class PlaybookImport:
    """One `import_playbook` line of an entry playbook."""

    playbook: str
    tags: tuple[str, ...]
    vars: dict[str, str] = field(default_factory=dict)

    def as_yaml_data(self) -> dict[str, Any]:
        """Return the import as the YAML mapping written into the entry playbook."""
        entry: dict[str, Any] = {"ansible.builtin.import_playbook": self.playbook}
        if self.vars:
            entry["vars"] = dict(self.vars)
        entry["tags"] = list(self.tags)
        return entry


@dataclass(frozen=True)
class RoleImport:
    """One tagged `import_role` task of the hosts play, guarded by its inventory group."""

    role: str
    name: str
    tags: tuple[str, ...]
    vars: dict[str, str] = field(default_factory=dict)
    group: str | None = None

    def as_yaml_data(self) -> dict[str, Any]:
        """Return the task as the YAML mapping written into the hosts play."""
        task: dict[str, Any] = {
            "name": self.name,
            "ansible.builtin.import_role": {"name": self.role, "rolespec_validate": False},
        }
        if self.vars:
            task["vars"] = dict(self.vars)
        if self.group:
            # --limit filters hosts, not tasks: a host only runs the roles of its own groups.
            task["when"] = f"inventory_hostname in groups['{self.group}']"
        task["tags"] = list(self.tags)
        return task


@dataclass(frozen=True)
class HostsPlay:
    """The one play that sets up every host: bootstrap, then accessories, then app roles.

    Strategy `free`: each host runs its own tasks in order (accessories before apps) without
    waiting for the other hosts at every task or play boundary.
    """

    name: str
    tasks: tuple[RoleImport, ...]

    def as_yaml_data(self) -> dict[str, Any]:
        """Return the play as the YAML mapping written into the entry playbook."""
        return {
            "name": self.name,
            "hosts": "all",
            "gather_facts": False,
            "strategy": "free",
            "module_defaults": {"group/community.docker.docker": {"docker_host": _DOCKER_HOST}},
            "tasks": [task.as_yaml_data() for task in self.tasks],
        }


_DOCKER_HOST = "{{ kdeploy_docker_host | default('unix:///var/run/docker.sock') }}"


@dataclass(frozen=True)
class Plan:
    """What one kdeploy command asks Ansible to do."""

    command: str
    imports: tuple[PlaybookImport | HostsPlay, ...]
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    limit: str | None = None
    extravars: dict[str, Any] = field(default_factory=dict)
    secret_names: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    lock_host: str | None = None
    # The entry playbook's stem when the command's name is taken by a part (`audit.yml`) or is
    # not a file name (`lock acquire`); None: the command's name.
    entry: str | None = None
    # The task whose per-host results the command shows the user (`lock status`, `audit`).
    report_task: str | None = None

    @property
    def playbook(self) -> str:
        """The entry playbook's file name inside project/."""
        return f"{self.entry or self.command}.yml"

    def ansible_playbook_args(self) -> list[str]:
        """Return the selection as `ansible-playbook` arguments (for export and messages)."""
        args = []
        if self.tags:
            args += ["--tags", ",".join(self.tags)]
        if self.skip_tags:
            args += ["--skip-tags", ",".join(self.skip_tags)]
        if self.limit:
            args += ["--limit", self.limit]
        return args


@dataclass(frozen=True)
class SetupOptions:
    """The options of `kdeploy setup` that shape the plan."""

    roles: str | None = None
    hosts: str | None = None
    primary: bool = False
    skip_push: bool = False
    with_accessories: bool = False
    performer: str = "kdeploy"


def app_tag(role_name: str) -> str:
    """Return the tag of one app role's play."""
    return "app_" + role_name.translate(_UNSAFE_TAG)


def accessory_tag(name: str) -> str:
    """Return the tag of one accessory's play."""
    return "accessory_" + name.translate(_UNSAFE_TAG)


def setup_imports(config: Config) -> tuple[PlaybookImport | HostsPlay, ...]:
    """Return every play of a full setup: lock, the hosts play, unlock."""
    return setup_plays([acc.name for acc in config.accessories],
                       [role.name for role in config.roles])


def setup_plays(accessories: list[str], roles: list[str]) -> tuple[PlaybookImport | HostsPlay, ...]:
    """Return the setup plays for these accessory and role names (in config order).

    The lock plays stay apart (a held lock stops the run before any host is touched, and the
    release waits for every host). Bootstrap, accessories and app roles share one play so that
    hosts do not wait for each other; their tags and group guards keep DESIGN.md's selections.
    """
    tasks = (
        RoleImport("kdeploy_docker", "Bootstrap Docker and the kamal network.", ("bootstrap",)),
        *(RoleImport("kdeploy_accessory", f"Boot the accessory {name}.",
                     ("accessory", accessory_tag(name)), {"kdeploy_accessory_name": name},
                     accessory_group(name))
          for name in accessories),
        *(RoleImport("kdeploy_app", f"Boot the app role {name}.", ("app", app_tag(name)),
                     {"kdeploy_app_role": name}, role_group(name))
          for name in roles),
    )
    return (
        PlaybookImport("lock_acquire.yml", ("lock",)),
        HostsPlay("Set up the hosts", tasks),
        PlaybookImport("lock_release.yml", ("lock",)),
    )


def build_setup_plan(config: Config, options: SetupOptions) -> Plan:
    """Plan `kdeploy setup`: everything, or only the filtered roles' hosts.

    A role-scoped setup selects the lock, bootstrap and those roles' app plays by tag, skips
    every accessory play (unless --with-accessories) and limits hosts to the filtered ones, so
    accessories living on those hosts are neither booted nor even inspected.
    """
    if not options.skip_push:
        raise UsageError(
            "kdeploy does not build images yet: push the image, then run with -P/--skip-push"
        )
    if config.version is None:
        raise UsageError("No version to set up: pass --version, set VERSION, or run in a git repo")
    selection = select(config, roles=options.roles, hosts=options.hosts, primary=options.primary)
    if not selection.hosts:
        raise UsageError(f"No hosts to set up for --roles {options.roles}")
    if options.roles and not selection.app_hosts:
        # Kamal falls back to every host when the -r roles have none (allow_empty_roles):
        # setting up "nothing" must not bootstrap every host without a lock.
        raise UsageError(f"No hosts to set up for --roles {options.roles}: "
                         "the matching roles have no servers")
    filtered = bool(options.roles or options.hosts or options.primary)
    tags, skip_tags, notices = (), (), ()
    if filtered:
        tags, skip_tags, notices = _filtered_selection(config, selection, options)
    return Plan(
        command="setup",
        imports=setup_imports(config),
        tags=tags,
        skip_tags=skip_tags,
        limit=_limit(selection, options) if filtered else None,
        extravars=_extravars(config, selection, options),
        secret_names=_secret_names(config, selection, options.with_accessories or not filtered),
        notices=notices,
        lock_host=selection.primary_host,
    )


def _filtered_selection(
    config: Config, selection: Selection, options: SetupOptions
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    tags = ["lock", "bootstrap", *(app_tag(role.name) for role in selection.roles)]
    if options.with_accessories:
        tags += [accessory_tag(name) for name in selection.accessory_hosts]
        skipped = [accessory_tag(acc.name) for acc in config.accessories
                   if acc.name not in selection.accessory_hosts]
        return tuple(tags), tuple(skipped), ()
    notices = tuple(
        f"Accessory {name} lives on {', '.join(hosts)} and was not booted "
        f"(boot it with: kdeploy setup {_filter_flags(options)} --with-accessories)"
        for name, hosts in selection.accessory_hosts.items()
    )
    return tuple(tags), ("accessory",), notices


def _filter_flags(options: SetupOptions) -> str:
    flags = ["-P"]
    if options.roles:
        flags.append(f"-r {options.roles}")
    if options.hosts:
        flags.append(f"-h {options.hosts}")
    if options.primary:
        flags.append("-p")
    return " ".join(flags)


def _limit(selection: Selection, options: SetupOptions) -> str:
    # A pure role filter reads best as groups; any host filter needs the exact hosts.
    if options.roles and not (options.hosts or options.primary):
        return ",".join(role_group(role.name) for role in selection.roles)
    return ",".join(selection.hosts)


def _extravars(config: Config, selection: Selection, options: SetupOptions) -> dict[str, Any]:
    return {
        "kdeploy_version": config.version,
        "kdeploy_lock_host": selection.primary_host,
        "kdeploy_lock_message": f"Automatic deploy lock ({options.performer})",
        "kdeploy_performer": options.performer,
        "kdeploy_pull": options.skip_push,
    }


def _secret_names(config: Config, selection: Selection, accessories: bool) -> tuple[str, ...]:
    names: list[str] = []
    registry = config.registry
    if not registry.local:
        names += [name for name in (registry.username_secret, registry.password_secret) if name]
    for role in selection.roles:
        for host in selection.role_hosts.get(role.name, ()):
            names += role.env_for_host(host).secret.values()
    if accessories:
        for acc in config.accessories:
            if acc.name in selection.accessory_hosts:
                names += acc.env.secret.values()
                if acc.registry and acc.registry.password_secret:
                    names.append(acc.registry.password_secret)
    return tuple(dict.fromkeys(names))


LOCK_ACTIONS = ("acquire", "release", "status")

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


__all__ = [
    "AUDIT_REPORT_TASK", "LOCK_ACTIONS", "LOCK_REPORT_TASKS", "FilterOptions", "HostsPlay",
    "LockOptions", "Plan", "PlaybookImport", "RoleImport", "SetupOptions", "accessory_group",
    "accessory_tag", "app_tag", "build_audit_plan", "build_lock_plan", "build_setup_plan",
    "role_group", "setup_imports", "setup_plays",
]
