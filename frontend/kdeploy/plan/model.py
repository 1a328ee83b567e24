"""What a plan is: the entry playbook's parts, the selection and the extra vars of one command.

The entry playbook is kdeploy's code, but some of its strings come from the config: role and
accessory names (in names, tags and import vars), host names (a play's hosts) and hook playbook
paths. `as_yaml_data` marks exactly those with `unsafe`, so Ansible never templates them. The
`when` conditions (built from group names, which hold only letters, digits and `_`) and
`module_defaults` stay templates that kdeploy writes itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from kdeploy.ansible_yaml import unsafe
from kdeploy.resources import part_fqcn, role_fqcn
from kdeploy.words import plural

_UNSAFE_TAG = str.maketrans({char: "_" for char in "-. "})


@dataclass(frozen=True)
class PlaybookImport:
    """One `import_playbook` line of an entry playbook.

    `playbook` is a part playbook of the collection by file name (`app.yml`, imported as
    `kdeploy.deploy.app`) or the absolute path of a user's playbook (hooks).
    """

    playbook: str
    tags: tuple[str, ...]
    vars: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject a part name that is no plain file name (a plan bug, not user input)."""
        if not PurePath(self.playbook).is_absolute() and (
                "/" in self.playbook or not self.playbook.endswith(".yml")):
            raise ValueError(f"not a part playbook or an absolute path: {self.playbook!r}")

    def as_yaml_data(self) -> dict[str, Any]:
        """Return the import as the YAML mapping written into the entry playbook."""
        target = (self.playbook if PurePath(self.playbook).is_absolute()
                  else part_fqcn(self.playbook))
        entry: dict[str, Any] = {"ansible.builtin.import_playbook": unsafe(target)}
        if self.vars:
            entry["vars"] = unsafe(self.vars)
        entry["tags"] = unsafe(self.tags)
        return entry


@dataclass(frozen=True)
class RoleImport:
    """One tagged `import_role` task of the hosts play, guarded by its inventory group.

    `role` is a role of the collection by its short name (`app` is imported as
    `kdeploy.deploy.app`).
    """

    role: str
    name: str
    tags: tuple[str, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    tasks_from: str | None = None

    def as_yaml_data(self) -> dict[str, Any]:
        """Return the task as the YAML mapping written into the hosts play."""
        role: dict[str, Any] = {"name": role_fqcn(self.role)}
        if self.tasks_from:
            role["tasks_from"] = self.tasks_from
        role["rolespec_validate"] = False
        task: dict[str, Any] = {"name": unsafe(self.name), "ansible.builtin.import_role": role}
        if self.vars:
            task["vars"] = unsafe(self.vars)
        if self.group:
            # --limit filters hosts, not tasks: a host only runs the roles of its own groups.
            task["when"] = f"inventory_hostname in groups['{self.group}']"
        task["tags"] = unsafe(self.tags)
        return task


@dataclass(frozen=True)
class HostsPlay:
    """A play of tagged role imports, written into the entry playbook.

    Setup's bootstrap, proxy and accessory plays run with strategy `free` on exactly the hosts
    that have work in them (a group): each host runs its tasks without waiting for the other
    hosts at every task boundary. A deploy (and setup's app part) boots a boot group in one
    `linear`, `any_errors_fatal` play of one task per host (the host's first role), plus a play
    for the hosts that have a second role, and so on; Kamal's role barrier is the release's
    (plan/deploy.py), and one failure stops the run.
    """

    name: str
    tasks: tuple[RoleImport, ...]
    hosts: str = "all"
    strategy: str = "free"
    any_errors_fatal: bool = False
    # Seconds to wait after the play's tasks (Kamal's boot/wait between boot groups).
    pause_after: int = 0

    def as_yaml_data(self, *, mitogen: bool = False) -> dict[str, Any]:
        """Return the play as the YAML mapping written into the entry playbook.

        Args:
            mitogen: name mitogen's strategy of the same kind (`mitogen_free`, `mitogen_linear`),
                whose plugins the generated ansible.cfg then makes loadable.
        """
        play: dict[str, Any] = {
            "name": unsafe(self.name),
            "hosts": unsafe(self.hosts),
            "gather_facts": False,
            "strategy": f"mitogen_{self.strategy}" if mitogen else self.strategy,
        }
        if self.any_errors_fatal:
            play["any_errors_fatal"] = True
            # An unreachable host does not trigger any_errors_fatal; this stops the run on it too.
            play["max_fail_percentage"] = 0
        play["module_defaults"] = {"group/community.docker.docker": {"docker_host": _DOCKER_HOST}}
        play["tasks"] = [task.as_yaml_data() for task in self.tasks]
        if self.pause_after:
            tags = sorted({tag for task in self.tasks for tag in task.tags})
            play["tasks"].append({
                "name": f"Wait {plural(self.pause_after, 'second')} before the next boot group.",
                "ansible.builtin.pause": {"seconds": self.pause_after},
                # pause waits in check mode too, for boot groups that boot nothing.
                "when": "not ansible_check_mode",
                "tags": unsafe(tags),
            })
        return play


_DOCKER_HOST = "{{ kdeploy_docker_host | default('unix:///var/run/docker.sock') }}"

# What a hook sits beside: an imported part playbook, or one task of a hosts play.
Unit = PlaybookImport | RoleImport


@dataclass(frozen=True)
class HookPoint:
    """A hook of the command and where it runs: before or after one unit of the plan.

    Neither `before` nor `after`: before everything. The builder that creates a unit declares
    the hooks beside it, and the split finds the unit by identity: renaming a play or a tag
    cannot move a hook, and an equal unit elsewhere (a second lock release) is not mistaken
    for it.
    """

    hook: str
    before: Unit | None = None
    after: Unit | None = None
    lock: bool = True  # KAMAL_LOCK at this point
    runtime: bool = False  # KAMAL_RUNTIME is set (post-deploy)
    hosts: tuple[str, ...] | None = None  # KAMAL_HOSTS when not the command's hosts


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
    # Hosts the plan's first plays reach: kdeploy opens their SSH connections while
    # ansible-playbook starts (run/warm_up.py). Empty: Ansible connects as it goes.
    connect_ahead: tuple[str, ...] = ()
    # The entry playbook's stem when the command's name is taken by a part (`audit.yml`) or is
    # not a file name (`lock acquire`); None: the command's name.
    entry: str | None = None
    # The task whose per-host results the command shows the user (`lock status`, `audit`).
    report_task: str | None = None
    # Hooks that already ran before the plan (deploy's build ran pre-connect): not run again.
    hooks_done: tuple[str, ...] = ()
    # The command's hooks in Kamal's order, each beside a unit of `imports` (none: no hooks).
    hook_points: tuple[HookPoint, ...] = ()
    # `--check` (Ansible's check mode: nothing changes, see plan/check.py) and `--diff`.
    check: bool = False
    diff: bool = False

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
        return args + self.mode_args()

    def mode_args(self) -> list[str]:
        """Return `--check`/`--diff` as the plan asks (appended to the playbook's command line)."""
        return [*(["--check"] if self.check else []), *(["--diff"] if self.diff else [])]


def app_tag(role_name: str) -> str:
    """Return the tag of one app role's play."""
    return "app_" + role_name.translate(_UNSAFE_TAG)


def accessory_tag(name: str) -> str:
    """Return the tag of one accessory's play."""
    return "accessory_" + name.translate(_UNSAFE_TAG)
