# MIT License (kdeploy)
"""kdeploy.deploy.release on the controller: Kamal's role barrier around the module.

Kamal (lib/kamal/cli/app/boot.rb, cli/healthcheck/barrier.rb) lets the other roles boot once the
first container of the primary role is healthy, and not at all when it failed: a write-once
value that the first primary release sets (open or closed) and the other roles wait for.

Here that value is a file in the ansible-playbook run's own temporary directory on the
controller (C.DEFAULT_LOCAL_TMP: the main process makes it before it forks a worker per host,
and removes it when the run ends), created with O_EXCL so that only the first release to
finish sets it. A release of another role waits for the file in its worker before it sends
anything to its host, except the image's pull (the module's `pull_only`), which it lets overlap
the wait, as Kamal pulls on every host before any boots. Without the `barrier` option the module
runs at once.

With `from_inventory` (roles/app/tasks/release.yml, kdeploy's own plays) the plugin also builds
the module's arguments from kdeploy's inventory and variables (plugins/plugin_utils/
release_args.py) instead of having Ansible template them from the role's variables, and takes
the barrier from the boot play's vars `kdeploy_barrier_role` and `kdeploy_barrier_group`.
"""

from __future__ import annotations

import os
import time

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args import (
    MissingInventory,
    module_args,
)
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.release_args import (
    release_args,
    run_values,
)

BARRIER_FILE = "kdeploy-role-barrier"
OPEN = "open"
CLOSED = "closed"
# How often a waiting release looks at the barrier: it costs a stat, and the wait adds at most this.
POLL_SECONDS = 0.05


def barrier_path():
    """The barrier of this ansible-playbook run."""
    return os.path.join(C.DEFAULT_LOCAL_TMP, BARRIER_FILE)


def set_barrier(path, state):
    """Set the barrier unless it is set; True when this call set it (Kamal's IVar#set)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(state)
    return True


def read_barrier(path):
    """The barrier's state, or None while no primary release has finished."""
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def wait_at_barrier(path, poll=POLL_SECONDS):
    """Wait until the barrier is set; its state."""
    while True:
        state = read_barrier(path)
        # An empty file is one being written: look again.
        if state in (OPEN, CLOSED):
            return state
        time.sleep(poll)


def play_barrier(task_vars, role):
    """The barrier kdeploy's boot play sets, or None.

    The play's vars name the primary role and its group. The barrier holds only while a host of
    that group is among the play's hosts (ansible_play_batch: inside the limit, without the hosts
    that failed earlier): a --limit or a job slice without the primary role, or its hosts failing
    before this play, would otherwise hold the other roles forever.
    """
    primary = task_vars.get("kdeploy_barrier_role")
    if primary is None:
        return None
    primary_hosts = task_vars.get("groups", {}).get(task_vars.get("kdeploy_barrier_group"), ())
    if not set(primary_hosts) & set(task_vars.get("ansible_play_batch", ())):
        return None
    return {"role": role, "primary": primary}


class ActionModule(ActionBase):
    """Run kdeploy.deploy.release, opening, closing or waiting at the role barrier."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        """The module's result; a release of another role only once the barrier is open."""
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        barrier = args.pop("barrier", None)
        host = task_vars.get("inventory_hostname", "?")
        try:
            if args.get("from_inventory") is not None:
                run = run_values(task_vars, host, args["from_inventory"], self._templar.template)
                args["from_inventory"] = run
                barrier = barrier or play_barrier(task_vars, run["role"])
            args = module_args(args, task_vars, release_args)
        except MissingInventory as error:
            return dict(result, failed=True, changed=False, msg=str(error))
        if not barrier:
            result.update(self._execute_module(module_args=args, task_vars=task_vars))
        elif barrier["role"] != barrier["primary"]:
            result.update(self._release_after_barrier(args, task_vars, barrier, host))
        else:
            result.update(self._release_deciding_barrier(args, task_vars))
        return result

    def _release_after_barrier(self, args, task_vars, barrier, host):
        # Another role: pull while the primary boots (Kamal pulls on every host before any
        # boots), then boot once the barrier is open.
        path = barrier_path()
        if read_barrier(path) is None and not self._play_context.check_mode:
            pulled = self._execute_module(module_args=dict(args, pull_only=True),
                                          task_vars=task_vars)
            if pulled.get("failed") or pulled.get("unreachable"):
                return pulled
            args = dict(args, prefetched="new" if pulled.get("changed") else "same")
        if wait_at_barrier(path) != OPEN:
            return dict(failed=True, changed=False, msg=(
                f"First {barrier['primary']} container is unhealthy, "
                f"not booting {barrier['role']} on {host}"))
        return self._execute_module(module_args=args, task_vars=task_vars)

    def _release_deciding_barrier(self, args, task_vars):
        # The primary role: the first of its releases to finish sets the barrier.
        succeeded = False
        result = {}
        try:
            result = self._execute_module(module_args=args, task_vars=task_vars)
            succeeded = not result.get("failed") and not result.get("unreachable")
        finally:
            # Closed on any failure, an unreachable host or an exception too: the other roles
            # must never wait for a release that will not finish.
            set_barrier(barrier_path(), OPEN if succeeded else CLOSED)
        return result
