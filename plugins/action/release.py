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

Over Ansible's ssh connection (no become) the barrier also moves when Kamal's does, with one module
call per host (plugins/module_utils/barrier_signal.py): a primary-role release tells, through a
file on its host that a second session watches, when its new container is ready, and that opens
the barrier before it stops the other versions; a release of another role pulls, then waits on its
host for a file that a second session writes once the barrier is set, and boots in the same call.
Other connections keep the file on the controller alone and a second call after the wait.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.connection.ssh import Connection as SshConnection
from ansible_collections.kdeploy.deploy.plugins.module_utils.barrier_signal import (
    CLOSED,
    OPEN,
    send_command,
    signal_path,
    watch_command,
    watched_state,
)
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args import (
    MissingInventory,
    module_args,
)
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.release_args import (
    release_args,
    run_values,
)

# Its states are the signal files' (OPEN, CLOSED): the relay sends the one it reads as it is.
BARRIER_FILE = "kdeploy-role-barrier"
# How often a waiting release looks at the barrier: it costs a stat, and the wait adds at most this.
POLL_SECONDS = 0.02
# How long a primary host's watch waits for its release to be ready; after it (a pull that long),
# the barrier opens when the release ends.
WATCH_SECONDS = 600
# How long to wait for a second session to end once the module has answered.
SESSION_END_SECONDS = 10
# The connection whose per-command state a shallow copy keeps apart: ansible-core's ssh plugin
# itself. Others that call themselves ssh (mitogen's `transport = 'ssh'`) share state that a
# second thread must not touch.
SSH_CONNECTION = SshConnection


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


def wait_at_barrier(path, poll=POLL_SECONDS, cancelled=None):
    """Wait until the barrier is set; its state (None once `cancelled` is set)."""
    cancelled = cancelled or threading.Event()
    while not cancelled.is_set():
        state = read_barrier(path)
        # An empty file is one being written: look again.
        if state in (OPEN, CLOSED):
            return state
        cancelled.wait(poll)
    return None


def run_token():
    """This ansible-playbook run, in the names of its signal files on the hosts."""
    return os.path.basename(C.DEFAULT_LOCAL_TMP)


def second_session(connection):
    """A second handle on the task's connection, for a command beside the module; else None.

    Ansible's ssh connection keeps the state of the command it runs on the object, so a command
    from another thread goes through a shallow copy; with ControlMaster both run as sessions of
    the one SSH connection. Other connections, and become, are left to the controller's barrier.
    """
    if type(connection) is not SSH_CONNECTION or getattr(connection, "become", None):
        return None
    return copy.copy(connection)


class BesideModule(threading.Thread):
    """One shell command on the host while its module runs, from a thread of the worker.

    `command(cancelled)` gives the command (it may wait first), or None to send nothing;
    `answered(stdout)` takes its output.
    """

    def __init__(self, connection, command, answered=None):
        super().__init__(daemon=True)
        self.connection = connection
        self.command = command
        self.answered = answered or (lambda stdout: None)
        self.cancelled = threading.Event()

    def run(self):
        """Send the command, unless cancelled first; give its output to `answered`."""
        command = self.command(self.cancelled)
        if command is None:
            return
        try:
            _, stdout, _ = self.connection.exec_command(command, sudoable=False)
        except AnsibleError:
            return  # the module's own call meets the same connection and says what failed
        self.answered(stdout)

    def finish(self):
        """Send nothing more; wait for a command under way."""
        self.cancelled.set()
        self.join(SESSION_END_SECONDS)


def play_barrier(task_vars, role):
    """The barrier kdeploy's boot play sets, or None.

    The play's vars name the primary role and its group. The barrier holds only while a host of
    that group is among the play's hosts (ansible_play_batch: inside the limit, without the hosts
    that failed earlier): a --limit or a job slice without the primary role, or its hosts failing
    before this play, would otherwise hold the other roles forever.

    `watch` is the one primary host whose readiness is watched (the first of the play's): a
    watch is a second session and a polling shell on its host, and the play's primary hosts
    start together, so watching one of them opens the barrier within a moment of the first.
    """
    primary = task_vars.get("kdeploy_barrier_role")
    if primary is None:
        return None
    primary_hosts = set(task_vars.get("groups", {}).get(task_vars.get("kdeploy_barrier_group"), ()))
    booting = [host for host in task_vars.get("ansible_play_batch", ()) if host in primary_hosts]
    if not booting:
        return None
    return {"role": role, "primary": primary, "watch": booting[0]}


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
            # A barrier given as an option (the role's main) has no play to choose from: each
            # primary host is watched.
            watched = barrier.get("watch", host) == host
            result.update(self._release_deciding_barrier(args, task_vars, host, watched))
        return result

    def _release_after_barrier(self, args, task_vars, barrier, host):
        # Another role: pull while the primary boots (Kamal pulls on every host before any
        # boots), then boot once the barrier is open.
        path = barrier_path()
        if read_barrier(path) is None and not self._play_context.check_mode:
            session = second_session(self._connection)
            if session is not None:
                waited = self._release_waiting_on_host(args, task_vars, path, session, host)
            else:
                waited = self._execute_module(module_args=dict(args, pull_only=True),
                                              task_vars=task_vars)
            if waited.get("failed") or waited.get("unreachable") or waited.get("barrier") == OPEN:
                return waited
            args = dict(args, prefetched="new" if waited.get("changed") else "same")
        if wait_at_barrier(path) != OPEN:
            return dict(failed=True, changed=False, msg=(
                f"First {barrier['primary']} container is unhealthy, "
                f"not booting {barrier['role']} on {host}"))
        return self._execute_module(module_args=args, task_vars=task_vars)

    def _release_waiting_on_host(self, args, task_vars, path, session, host):
        # One call: the module pulls, then waits on the host for its go file, which a second
        # session writes once the barrier is set. Its wait running out leaves the rest to the
        # controller's barrier and a second call.
        go = signal_path(run_token(), "go", host)

        def relayed(cancelled):
            state = wait_at_barrier(path, cancelled=cancelled)
            return send_command(go, state) if state else None

        relay = BesideModule(session, relayed)
        relay.start()
        try:
            return self._execute_module(module_args=dict(args, barrier_go_file=go),
                                        task_vars=task_vars)
        finally:
            relay.finish()

    def _release_deciding_barrier(self, args, task_vars, host, watched=True):
        # The primary role: the first of its releases to be ready sets the barrier (or, without
        # a second session or unwatched, to finish).
        succeeded = False
        result = {}
        path = barrier_path()
        session = None
        if watched and not self._play_context.check_mode:
            session = second_session(self._connection)
        watch = None
        if session is not None:
            ready = signal_path(run_token(), "ready", host)
            args = dict(args, barrier_ready_file=ready)

            def opened(stdout):
                if watched_state(stdout) == OPEN:
                    set_barrier(path, OPEN)

            watch = BesideModule(session, lambda cancelled: watch_command(ready, WATCH_SECONDS),
                                 opened)
            watch.start()
        try:
            result = self._execute_module(module_args=args, task_vars=task_vars)
            succeeded = not result.get("failed") and not result.get("unreachable")
        finally:
            # Closed on any failure, an unreachable host or an exception too: the other roles
            # must never wait for a release that will not finish.
            set_barrier(path, OPEN if succeeded else CLOSED)
            if watch is not None:
                self._end_watch(watch, ready)
        return result

    def _end_watch(self, watch, ready):
        # The module wrote its ready file before it ended, and the watch has read it. A module
        # that could not (killed on the host) leaves the watch waiting: end it here.
        watch.join(POLL_SECONDS * 10)
        if watch.is_alive():
            # AnsibleError: the connection is gone, and the watch's session with it.
            with contextlib.suppress(AnsibleError):
                self._low_level_execute_command(send_command(ready, CLOSED))
        watch.finish()
