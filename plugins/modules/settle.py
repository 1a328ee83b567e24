#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Bring a host to rest after an interrupted kdeploy run, and say what it was left running."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: settle
short_description: Stop what an interrupted kdeploy run still does on this host, then report its containers
description:
  - Run by kdeploy after it was interrupted (Ctrl-C, SIGTERM, SIGHUP) and had killed its local
    Ansible processes. Those leave the modules they started still running on the hosts; this
    module finds them, brings them to rest, and waits until Docker has finished what they asked
    for, so that nothing changes on the host once kdeploy has exited.
  - "The run's processes are the ones started over the same SSH connection as this module
    (kdeploy reuses the run's ControlMaster connection): those whose environment has this
    module's C(SSH_CONNECTION), and their descendants."
  - "A module process that catches SIGTERM (kdeploy's release step does) is sent SIGTERM: it stops
    at its next safe point (it may have begun to already, when its connection closed) and leaves
    an account in C(~/.kdeploy/interrupted/<pid>.json), returned in RV(cut). Any other process (community.docker modules, shell commands) is let finish, since
    killing it midway could leave a container half-replaced. Whatever still runs after O(timeout)
    seconds is killed and listed in RV(killed)."
  - Then containers that Docker was asked to stop or remove during the last O(since) seconds and
    that are still stopping or being removed are waited for (at most O(timeout) seconds).
  - Reports the containers whose name starts with one of O(prefixes).
  - In check mode nothing is signalled or waited for; RV(stopped) and RV(waited) say what would
    be (one look at the run's processes) and only GET requests reach the daemon. With C(--diff),
    the run's processes before and after (none, all stopped, finished or killed).
version_added: "0.1.0"
author: kdeploy
options:
  timeout:
    description: Seconds to wait for the run's processes, and then for Docker, before giving up.
    type: int
    default: 60
  since:
    description: How many seconds back the interrupted run started (for Docker's event log).
    type: int
    default: 600
  prefixes:
    description: Name prefixes of the containers to report (the service's, the proxy's).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - kdeploy.deploy.docker_host
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The interrupted run's processes on the host (their commands) before and after.
"""

EXAMPLES = r"""
- name: Settle the host after an interrupted run.
  kdeploy.deploy.settle:
    timeout: 90
    since: 120
    prefixes: [app-, kamal-proxy]
"""

RETURN = r"""
stopped:
  description: Processes of the run that were asked to stop (SIGTERM) at a safe point, as C({pid, command}).
  type: list
  returned: always
waited:
  description: Processes of the run that were let finish, as C({pid, command}).
  type: list
  returned: always
killed:
  description: Processes still running after O(timeout), killed, as C({pid, command}).
  type: list
  returned: always
cut:
  description: The accounts of the modules that stopped at a safe point (C(role), C(container), C(step), C(left)).
  type: list
  returned: always
docker_waited:
  description: Containers whose stop or removal, already under way, was waited for.
  type: list
  returned: always
containers:
  description: The reported containers after settling, as C({name, state, image}).
  type: list
  returned: always
"""

import json
import os
import signal
import time
from contextlib import suppress

try:
    from urllib.parse import urlencode
except ImportError:  # Python 2 hosts are not supported by ansible-core 2.19 anyway
    urlencode = None

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdeploy.deploy.plugins.module_utils.diff import spec_diff
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerClient, DockerError
from ansible_collections.kdeploy.deploy.plugins.module_utils.stop import read_notes

SIGTERM_BIT = 1 << (signal.SIGTERM - 1)


def proc_table(proc="/proc"):
    """{pid: {ppid, env, catches_term, command}} for every process this user can read."""
    table = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        info = read_process(os.path.join(proc, entry))
        if info is not None:
            table[int(entry)] = info
    return table


def read_process(path):
    """One process from /proc/<pid>, or None when it is gone or unreadable."""
    try:
        with open(os.path.join(path, "status")) as handle:
            status = dict(line.split(":", 1) for line in handle if ":" in line)
        with open(os.path.join(path, "cmdline"), "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except (IOError, OSError, ValueError):
        return None
    try:
        with open(os.path.join(path, "environ"), "rb") as handle:
            env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
    except (IOError, OSError):
        env = {}  # another user's process: found through its parent instead
    zombie = status.get("State", "").strip().startswith("Z")
    return dict(ppid=int(status.get("PPid", "0").strip() or 0),
                connection=env.get(b"SSH_CONNECTION", b"").decode("utf-8", "replace"),
                catches_term=bool(int(status.get("SigCgt", "0").strip() or "0", 16) & SIGTERM_BIT),
                command=command, zombie=zombie)


def run_processes(table, me, connection):
    """The pids started over `connection` (and their descendants), except `me` and my ancestors."""
    mine = set()
    pid = me
    while pid in table and pid not in mine:
        mine.add(pid)
        pid = table[pid]["ppid"]
    roots = set(pid for pid, info in table.items()
                if connection and info["connection"] == connection and pid not in mine)
    found = set(roots)
    grew = True
    while grew:
        children = set(pid for pid, info in table.items()
                       if info["ppid"] in found and pid not in found and pid not in mine)
        found |= children
        grew = bool(children)
    return sorted(pid for pid in found if not table[pid]["zombie"])


def is_module(table, pid):
    """A module process: a Python interpreter that Ansible started (directly under its shell)."""
    words = table[pid]["command"].split()
    return bool(words) and os.path.basename(words[0]).startswith("python")


class Settler(object):
    """Stop, wait for and report the processes of the interrupted run."""

    def __init__(self, proc="/proc", me=None, connection=None, clock=time.time, sleep=time.sleep,
                 kill=os.kill):
        self.proc = proc
        self.me = me or os.getpid()
        self.connection = connection if connection is not None else os.environ.get("SSH_CONNECTION", "")
        self.clock, self.sleep, self.kill = clock, sleep, kill
        self.stopped, self.waited, self.killed = {}, {}, {}

    def settle(self, timeout):
        """Ask the run's interruptible modules to stop, wait for everything, kill what is left."""
        deadline = self.clock() + timeout
        while True:
            table = proc_table(self.proc)
            running = run_processes(table, self.me, self.connection)
            if not running:
                return
            for pid in running:
                self.classify(table, pid)
            if self.clock() >= deadline:
                for pid in running:
                    self.signal(pid, signal.SIGKILL)
                    self.killed[pid] = table[pid]["command"]
                return
            self.sleep(0.1)

    def classify(self, table, pid):
        info = table[pid]
        if pid in self.stopped:
            return
        # Checked on every pass: a module may install its handler after the first look.
        if is_module(table, pid) and info["catches_term"]:
            self.signal(pid, signal.SIGTERM)
            self.stopped[pid] = info["command"]
            self.waited.pop(pid, None)
        else:
            self.waited.setdefault(pid, info["command"])

    def look(self):
        """Check mode: classify the run's processes once, signalling none."""
        table = proc_table(self.proc)
        kill, self.kill = self.kill, lambda pid, signum: None
        try:
            for pid in run_processes(table, self.me, self.connection):
                self.classify(table, pid)
        finally:
            self.kill = kill

    def found(self):
        """The commands of every run process seen (stopped, waited for or killed)."""
        return sorted(set(self.stopped.values()) | set(self.waited.values()) | set(self.killed.values()))

    def signal(self, pid, signum):
        with suppress(OSError):  # already gone
            self.kill(pid, signum)

    def processes(self, found):
        return [dict(pid=pid, command=command) for pid, command in sorted(found.items())]


def settle_docker(docker, since, timeout, clock=time.time, sleep=time.sleep):
    """Wait for containers that Docker is still stopping or removing; return their names."""
    now = clock()
    pending = stopping(docker.events(now - since, now, {"type": ["container"]}))
    for container in docker_json(docker, "GET", "/containers/json", {"all": "1"}) or []:
        if container.get("State") == "removing":
            pending[container["Id"]] = (container.get("Names") or ["?"])[0].lstrip("/")
    waited = []
    deadline = now + timeout
    for container_id, name in pending.items():
        if not busy(docker_json(docker, "GET", "/containers/%s/json" % container_id)):
            continue
        waited.append(name)
        while clock() < deadline and busy(docker_json(docker, "GET", "/containers/%s/json" % container_id)):
            sleep(0.2)
    return waited


def stopping(events):
    """{id: name} of the containers sent a signal (a stop, a kill) that have not died since."""
    pending = {}
    for event in events:
        actor = event.get("Actor") or {}
        action = event.get("Action") or ""
        if action == "kill":
            pending[actor.get("ID")] = (actor.get("Attributes") or {}).get("name") or actor.get("ID")
        elif action in ("die", "destroy"):
            pending.pop(actor.get("ID"), None)
    return pending


def busy(container):
    """True while a container Docker was told to stop still runs, or is being removed."""
    if not container:
        return False
    state = container.get("State") or {}
    return bool(state.get("Running")) or state.get("Status") == "removing"


def docker_json(docker, method, url, params=None):
    """One Docker API call; its JSON, or None for a 404."""
    if params:
        url += "?" + urlencode(params)
    status, body = docker.request(method, url)
    if status == 404:
        return None
    if status >= 400:
        raise DockerError("Docker answered %s to %s %s" % (status, method, url), status)
    return json.loads(body.decode("utf-8")) if body.strip() else None


def containers(docker, prefixes):
    """The containers whose name starts with one of prefixes, as {name, state, image}."""
    found = []
    for container in docker_json(docker, "GET", "/containers/json", {"all": "1"}) or []:
        name = (container.get("Names") or ["?"])[0].lstrip("/")
        if any(name.startswith(prefix) for prefix in prefixes):
            found.append(dict(name=name, state=container.get("State"), image=container.get("Image")))
    return sorted(found, key=lambda item: item["name"])


def main():
    """Run the module."""
    module = AnsibleModule(argument_spec=dict(
        timeout=dict(type="int", default=60),
        since=dict(type="int", default=600),
        prefixes=dict(type="list", elements="str", default=[]),
        docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    ), supports_check_mode=True)
    params = module.params
    settler = Settler()
    if module.check_mode:
        settler.look()
    else:
        settler.settle(params["timeout"])
    # Modules that stopped on their own when kdeploy's connection closed left notes too.
    notes = read_notes(os.path.expanduser("~"), settler.connection)
    result = dict(changed=False, stopped=settler.processes(settler.stopped),
                  waited=settler.processes(settler.waited), killed=settler.processes(settler.killed),
                  cut=notes, docker_waited=[], containers=[],
                  diff=spec_diff(dict(run_processes=settler.found()), dict(run_processes=[])))
    if not params["docker_host"].startswith("unix://"):
        module.exit_json(**result)
    docker = DockerClient(params["docker_host"], 30)
    try:
        if not module.check_mode:
            result["docker_waited"] = settle_docker(docker, params["since"], params["timeout"])
        result["containers"] = containers(docker, params["prefixes"])
    except (IOError, OSError, DockerError) as exc:
        # A daemon that does not answer is named by the socket's own error, the client's cause.
        reason = exc.__cause__ or exc
        module.fail_json(msg="Cannot read Docker at %s: %s" % (params["docker_host"], reason), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
