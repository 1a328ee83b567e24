"""Where each command's hooks sit among its plays: pinned as literal data.

For every plan builder and action over a few fixture configs, the plan split at every hook
(`split_plan` with all hooks present) as lines: a hook point (`unlocked`: KAMAL_LOCK=false,
`runtime`: KAMAL_RUNTIME is set, `@ hosts`: KAMAL_HOSTS when it is not the command's hosts) or
one ansible-playbook run (its part playbooks, and each hosts play with its tasks). The data was
generated from the code before hook points moved into the plans, and reviewed against Kamal's
order (docs/ansible-interface.md); it must not change when the code that places hooks does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.plan import (
    HostsPlay,
    Plan,
    SetupOptions,
    build_audit_plan,
    build_deploy_plan,
    build_lock_plan,
    build_setup_plan,
)
from kdeploy.plan.accessory import build_accessory_plan
from kdeploy.plan.app_commands import (
    build_app_plan,
    build_app_stale_plan,
    build_details_plan,
    build_remove_plan,
)
from kdeploy.plan.hook_points import hook_points
from kdeploy.plan.maintenance import (
    build_bootstrap_plan,
    build_exec_plan,
    build_prune_plan,
    build_registry_plan,
)
from kdeploy.plan.model import HookPoint
from kdeploy.plan.proxy import ProxyOptions, build_proxy_plan
from kdeploy.plan.pull import build_pull_plan
from kdeploy.plan.split import split_plan
from kdeploy.selection import CommandContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
EVERY_HOOK = {
    "pre-connect",
    "docker-setup",
    "pre-deploy",
    "pre-app-boot",
    "post-app-boot",
    "post-deploy",
    "pre-proxy-reboot",
    "post-proxy-reboot",
    "pre-build",
}
Builder = Callable[[CommandContext], Plan]


def _builders() -> Iterator[tuple[str, Builder]]:
    yield "setup", lambda c: build_setup_plan(c, SetupOptions(skip_push=True))
    yield (
        "setup --with-accessories",
        lambda c: build_setup_plan(c, SetupOptions(skip_push=True, with_accessories=True)),
    )
    for command in ("deploy", "redeploy", "rollback", "app boot"):
        yield command, lambda c, command=command: build_deploy_plan(c, command)
    for action in ("acquire", "release", "status"):
        yield f"lock {action}", lambda c, action=action: build_lock_plan(c, action, "m")
    yield "audit", build_audit_plan
    yield "prune all", lambda c: build_prune_plan(c, "all")
    yield "server bootstrap", build_bootstrap_plan
    yield "registry login", lambda c: build_registry_plan(c, "login")
    yield "server exec", lambda c: build_exec_plan(c, "uptime")
    yield "build pull", build_pull_plan
    for action in ("details", "stop", "start", "remove"):
        yield f"app {action}", lambda c, action=action: build_app_plan(c, action)
    yield "app stale_containers", lambda c: build_app_stale_plan(c, True)
    yield "remove", build_remove_plan
    yield "details", build_details_plan
    for action in ("boot", "remove"):
        yield (
            f"accessory {action} all",
            lambda c, action=action: build_accessory_plan(c, action, "all"),
        )
    for action in ("boot", "reboot", "restart", "details"):
        yield f"proxy {action}", lambda c, action=action: build_proxy_plan(c, action)
    yield (
        "proxy reboot --rolling",
        lambda c: build_proxy_plan(c, "reboot", ProxyOptions(rolling=True)),
    )


BUILDERS = dict(_builders())


def _lines(plan: Plan) -> list[str | list[str | tuple[str, ...]]]:
    # A hook point as one string; a run as its entries (a hosts play: its name and tasks).
    lines: list[str | list[str | tuple[str, ...]]] = []
    for step in split_plan(plan, hook_points(plan), EVERY_HOOK):
        if isinstance(step, HookPoint):
            hosts = step.hosts
            flags = ("" if step.lock else " unlocked") + (" runtime" if step.runtime else "")
            lines.append(f"{step.hook}{flags}" + (f" @ {','.join(hosts)}" if hosts else ""))
            continue
        lines.append(
            [
                (entry.name, *(task.name for task in entry.tasks))
                if isinstance(entry, HostsPlay)
                else entry.playbook
                for entry in step.imports
            ]
        )
    return lines


# (command, fixture, -r) -> the plan split at every hook.
EXPECTED: dict[tuple[str, str, str | None], list[str | list[str | tuple[str, ...]]]] = {
    ("setup", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [("Boot the app", "Boot the app role web, workers.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [("Boot the app", "Boot the app role web, workers.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("deploy", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["proxy_check.yml", "lock_acquire.yml"],
        "pre-deploy",
        ["proxy_boot.yml"],
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [
            ("Boot the app", "Boot the app role web, workers."),
        ],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("redeploy", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-deploy",
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [
            ("Boot the app", "Boot the app role web, workers."),
        ],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("rollback", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            (
                "Check that every host has the version",
                "Check the version of the app role web.",
                "Check the version of the app role workers.",
            ),
        ],
        "pre-deploy",
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [
            ("Boot the app", "Boot the app role web, workers."),
        ],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("app boot", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        [
            ("Boot the app", "Boot the app role web, workers."),
        ],
        "post-app-boot @ 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        ["lock_release.yml"],
    ],
    ("lock acquire", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
    ],
    ("lock release", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_release.yml"],
    ],
    ("lock status", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_status.yml"],
    ],
    ("audit", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("registry login", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["registry_login.yml"],
    ],
    ("server exec", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("build pull", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["build_pull.yml"],
    ],
    ("app details", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("app stop", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stop.yml", "lock_release.yml"],
    ],
    ("app start", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_start.yml", "lock_release.yml"],
    ],
    ("app remove", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_remove.yml", "lock_release.yml"],
    ],
    ("app stale_containers", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stale_containers.yml", "lock_release.yml"],
    ],
    ("remove", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            "app_remove.yml",
            "proxy_remove.yml",
            "registry_logout.yml",
            "lock_release.yml",
        ],
    ],
    ("details", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("proxy boot", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_boot.yml", "lock_release.yml"],
    ],
    ("proxy reboot", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.3.1,10.0.3.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
    ],
    ("proxy restart", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"],
    ],
    ("proxy details", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["proxy_details.yml"],
    ],
    ("proxy reboot --rolling", "deploy_with_roles.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.3.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.1",
        "pre-proxy-reboot @ 10.0.3.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.2",
        ["lock_release.yml"],
    ],
    ("setup", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("deploy", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["proxy_check.yml", "lock_acquire.yml"],
        "pre-deploy",
        ["proxy_boot.yml"],
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("redeploy", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-deploy",
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("rollback", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            ("Check that every host has the version", "Check the version of the app role web."),
        ],
        "pre-deploy",
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("app boot", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-app-boot @ 10.0.3.1,10.0.3.2",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
    ],
    ("lock acquire", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
    ],
    ("lock release", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_release.yml"],
    ],
    ("lock status", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_status.yml"],
    ],
    ("audit", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("registry login", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["registry_login.yml"],
    ],
    ("server exec", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("build pull", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["build_pull.yml"],
    ],
    ("app details", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("app stop", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stop.yml", "lock_release.yml"],
    ],
    ("app start", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_start.yml", "lock_release.yml"],
    ],
    ("app remove", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_remove.yml", "lock_release.yml"],
    ],
    ("app stale_containers", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stale_containers.yml", "lock_release.yml"],
    ],
    ("remove", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            "app_remove.yml",
            "proxy_remove.yml",
            "registry_logout.yml",
            "lock_release.yml",
        ],
    ],
    ("details", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("proxy boot", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_boot.yml", "lock_release.yml"],
    ],
    ("proxy reboot", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.3.1,10.0.3.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.1,10.0.3.2",
        ["lock_release.yml"],
    ],
    ("proxy restart", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"],
    ],
    ("proxy details", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["proxy_details.yml"],
    ],
    ("proxy reboot --rolling", "deploy_with_roles.yml", "web"): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.3.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.1",
        "pre-proxy-reboot @ 10.0.3.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.3.2",
        ["lock_release.yml"],
    ],
    ("setup", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("deploy", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["proxy_check.yml", "lock_acquire.yml"],
        "pre-deploy",
        ["proxy_boot.yml"],
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("redeploy", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-deploy",
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("rollback", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            ("Check that every host has the version", "Check the version of the app role web."),
        ],
        "pre-deploy",
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("app boot", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-app-boot @ 10.0.23.1",
        [("Boot the app (group 1 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.1",
        "pre-app-boot @ 10.0.23.2",
        [("Boot the app (group 2 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.2",
        "pre-app-boot @ 10.0.23.3",
        [("Boot the app (group 3 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.3",
        "pre-app-boot @ 10.0.23.4",
        [("Boot the app (group 4 of 4)", "Boot the app role web.")],
        "post-app-boot @ 10.0.23.4",
        ["lock_release.yml"],
    ],
    ("lock acquire", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
    ],
    ("lock release", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_release.yml"],
    ],
    ("lock status", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_status.yml"],
    ],
    ("audit", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("server exec", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("app details", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("app stop", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stop.yml", "lock_release.yml"],
    ],
    ("app start", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_start.yml", "lock_release.yml"],
    ],
    ("app remove", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_remove.yml", "lock_release.yml"],
    ],
    ("app stale_containers", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stale_containers.yml", "lock_release.yml"],
    ],
    ("remove", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            "app_remove.yml",
            "proxy_remove.yml",
            "registry_logout.yml",
            "lock_release.yml",
        ],
    ],
    ("details", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("proxy boot", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_boot.yml", "lock_release.yml"],
    ],
    ("proxy reboot", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.23.1,10.0.23.2,10.0.23.3,10.0.23.4",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.23.1,10.0.23.2,10.0.23.3,10.0.23.4",
        ["lock_release.yml"],
    ],
    ("proxy restart", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"],
    ],
    ("proxy details", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["proxy_details.yml"],
    ],
    ("proxy reboot --rolling", "deploy_with_boot.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.23.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.23.1",
        "pre-proxy-reboot @ 10.0.23.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.23.2",
        "pre-proxy-reboot @ 10.0.23.3",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.23.3",
        "pre-proxy-reboot @ 10.0.23.4",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.23.4",
        ["lock_release.yml"],
    ],
    ("setup", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [
            ("Boot the proxy", "Boot the proxy."),
            ("Boot the accessory mysql", "Boot the accessory mysql."),
            ("Boot the accessory redis", "Boot the accessory redis."),
        ],
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [
            ("Boot the proxy", "Boot the proxy."),
            ("Boot the accessory mysql", "Boot the accessory mysql."),
            ("Boot the accessory redis", "Boot the accessory redis."),
        ],
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("deploy", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["proxy_check.yml", "lock_acquire.yml"],
        "pre-deploy",
        ["proxy_boot.yml"],
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("redeploy", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-deploy",
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("rollback", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            ("Check that every host has the version", "Check the version of the app role web."),
        ],
        "pre-deploy",
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("app boot", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-app-boot @ 10.0.10.1",
        [("Boot the app", "Boot the app role web.")],
        "post-app-boot @ 10.0.10.1",
        ["lock_release.yml"],
    ],
    ("lock acquire", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
    ],
    ("lock release", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_release.yml"],
    ],
    ("lock status", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_status.yml"],
    ],
    ("audit", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("server exec", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("app details", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("app stop", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stop.yml", "lock_release.yml"],
    ],
    ("app start", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_start.yml", "lock_release.yml"],
    ],
    ("app remove", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_remove.yml", "lock_release.yml"],
    ],
    ("app stale_containers", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stale_containers.yml", "lock_release.yml"],
    ],
    ("remove", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            "app_remove.yml",
            "proxy_remove.yml",
            "accessory_remove.yml",
            "accessory_remove.yml",
            "registry_logout.yml",
            "lock_release.yml",
        ],
    ],
    ("details", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("accessory boot all", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "lock_acquire.yml",
            "accessory_boot.yml",
            "accessory_boot.yml",
            "accessory_report.yml",
            "lock_release.yml",
        ],
    ],
    ("accessory remove all", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "lock_acquire.yml",
            "accessory_remove.yml",
            "accessory_remove.yml",
            "accessory_report.yml",
            "lock_release.yml",
        ],
    ],
    ("proxy boot", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_boot.yml", "lock_release.yml"],
    ],
    ("proxy reboot", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.10.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.10.1",
        ["lock_release.yml"],
    ],
    ("proxy restart", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"],
    ],
    ("proxy details", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["proxy_details.yml"],
    ],
    ("proxy reboot --rolling", "deploy_with_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.10.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.10.1",
        ["lock_release.yml"],
    ],
    ("setup", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [("Boot the app", "Boot the app role web, admin, api, jobs, metrics.")],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        [
            "proxy_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the proxy", "Boot the proxy.")],
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [("Boot the app", "Boot the app role web, admin, api, jobs, metrics.")],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("deploy", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["proxy_check.yml", "lock_acquire.yml"],
        "pre-deploy",
        ["proxy_boot.yml"],
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [
            ("Boot the app", "Boot the app role web, admin, api, jobs, metrics."),
        ],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("redeploy", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-deploy",
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [
            ("Boot the app", "Boot the app role web, admin, api, jobs, metrics."),
        ],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("rollback", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            (
                "Check that every host has the version",
                "Check the version of the app role web.",
                "Check the version of the app role admin.",
                "Check the version of the app role api.",
                "Check the version of the app role jobs.",
                "Check the version of the app role metrics.",
            ),
        ],
        "pre-deploy",
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [
            ("Boot the app", "Boot the app role web, admin, api, jobs, metrics."),
        ],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        ["lock_release.yml"],
        "post-deploy unlocked runtime",
    ],
    ("app boot", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        [
            ("Boot the app", "Boot the app role web, admin, api, jobs, metrics."),
        ],
        "post-app-boot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.4,10.0.18.5",
        ["lock_release.yml"],
    ],
    ("lock acquire", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
    ],
    ("lock release", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_release.yml"],
    ],
    ("lock status", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_status.yml"],
    ],
    ("audit", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("server exec", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("app details", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("app stop", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stop.yml", "lock_release.yml"],
    ],
    ("app start", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_start.yml", "lock_release.yml"],
    ],
    ("app remove", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_remove.yml", "lock_release.yml"],
    ],
    ("app stale_containers", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "app_stale_containers.yml", "lock_release.yml"],
    ],
    ("remove", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        [
            "lock_acquire.yml",
            "app_remove.yml",
            "proxy_remove.yml",
            "registry_logout.yml",
            "lock_release.yml",
        ],
    ],
    ("details", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
    ("proxy boot", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_boot.yml", "lock_release.yml"],
    ],
    ("proxy reboot", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.5",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.18.1,10.0.18.3,10.0.18.2,10.0.18.5",
        ["lock_release.yml"],
    ],
    ("proxy restart", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"],
    ],
    ("proxy details", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["proxy_details.yml"],
    ],
    ("proxy reboot --rolling", "deploy_with_proxy.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml"],
        "pre-proxy-reboot @ 10.0.18.1",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.18.1",
        "pre-proxy-reboot @ 10.0.18.3",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.18.3",
        "pre-proxy-reboot @ 10.0.18.2",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.18.2",
        "pre-proxy-reboot @ 10.0.18.5",
        ["proxy_reboot.yml"],
        "post-proxy-reboot @ 10.0.18.5",
        ["lock_release.yml"],
    ],
    ("setup", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the accessory db", "Boot the accessory db.")],
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("setup --with-accessories", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        [
            "accessory_destination_check.yml",
            "lock_acquire.yml",
            ("Set up the hosts", "Bootstrap Docker and the kamal network."),
        ],
        "docker-setup",
        "pre-deploy",
        [("Boot the accessory db", "Boot the accessory db.")],
        "post-deploy runtime",
        ["lock_release.yml"],
    ],
    ("audit", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        ["audit.yml"],
    ],
    ("prune all", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "prune_containers.yml", "prune_images.yml", "lock_release.yml"],
    ],
    ("server bootstrap", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        ["lock_acquire.yml", "bootstrap.yml"],
        "docker-setup",
        ["lock_release.yml"],
    ],
    ("server exec", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        ["server_exec.yml"],
    ],
    ("details", "deploy_with_only_accessories.yml", None): [
        "pre-connect unlocked",
        ["app_details.yml"],
    ],
}


@pytest.mark.parametrize(("command", "fixture", "roles"), list(EXPECTED))
def test_hooks_sit_where_they_did(command: str, fixture: str, roles: str | None) -> None:
    config = load_config(FIXTURES / fixture, version="v2", environ={})
    command_context = context(config, roles=roles)
    plan = BUILDERS[command](command_context)
    assert _lines(plan) == EXPECTED[(command, fixture, roles)]


def test_every_builder_is_pinned_on_some_config() -> None:
    assert {command for command, _, _ in EXPECTED} == set(BUILDERS)


def test_a_hook_beside_a_unit_the_plan_no_longer_holds_is_an_error() -> None:
    plan = build_setup_plan(context(load_config(FIXTURES / "deploy_with_roles.yml", version="v2",
                                                environ={})), SetupOptions(skip_push=True))
    # Equal parts, but not the ones the hook points were declared beside.
    rebuilt = dataclasses.replace(plan, imports=tuple(
        dataclasses.replace(entry) for entry in plan.imports))
    assert split_plan(rebuilt, rebuilt.hook_points, {"pre-app-boot"})  # tasks kept: found
    with pytest.raises(ValueError, match="post-deploy"):
        split_plan(rebuilt, rebuilt.hook_points, {"post-deploy"})
