# MIT License (kdeploy)
"""kdeploy.deploy.docker_network on the controller: a ready host answered by one shell command.

Kamal's bootstrap is `docker network create kamal` over plain SSH. The module starts Python on
the host (about 0.5 s of a setup, docs/performance.md) so that, when the daemon does not answer, it
can say why. A ready host needs nothing said, so this plugin first sends one shell command, as
Ansible's raw does: whether the host's Python (the one the module would run on) has requests, the
network's inspect through the docker CLI, and its creation when it is missing (never in check
mode). When all of that answers, the result is the module's own (plugins/module_utils/
network_result.py). When anything does not (no docker program, no daemon, a socket closed to the
user, no requests, arguments the module would refuse, an interpreter Ansible has yet to discover),
the module runs as it always did, and its result (its explanation) is the task's.
"""

from __future__ import annotations

import json
import shlex

from ansible.errors import AnsibleError
from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError
from ansible.executor.module_common import _get_shebang
from ansible.plugins.action import ActionBase
from ansible_collections.kdeploy.deploy.plugins.module_utils.network_result import (
    ARGUMENT_SPEC,
    network_result,
)

# The first line of the command's answer (the network's inspect follows it): found, created, or
# missing in check mode. One name per line: Ansible's doc reader refuses a tuple assignment.
EXISTS = "exists"
CREATED = "created"
ABSENT = "absent"

# Each step that does not answer exits non-zero, and the module takes over. On a ready host the
# network is there: one Python start and one docker command. A failed inspect means a missing
# network only when the daemon answers `docker network ls`. `timeout` bounds a daemon that accepts
# but never answers, as the module's socket timeout does.
QUICK_COMMAND = """\
DOCKER_HOST={docker_host}; export DOCKER_HOST
{python} -c 'import importlib.util as u, sys; sys.exit(u.find_spec("requests") is None)' || exit 1
if network=$(timeout {timeout} docker network inspect {name} 2>/dev/null); then
  echo {exists}; printf '%s\\n' "$network"; exit 0
fi
timeout {timeout} docker network ls -q >/dev/null || exit 1
if [ {check} = 1 ]; then echo {absent}; exit 0; fi
id=$(timeout {timeout} docker network create {name}) || exit 1
echo {created}; timeout {timeout} docker network inspect "$id"
"""


def quick_command(name, docker_host, timeout, python, check_mode):
    """The shell command that answers a ready host (QUICK_COMMAND), every value quoted.

    `python` is used as Ansible uses an interpreter setting, unquoted (it may carry arguments).
    """
    return QUICK_COMMAND.format(docker_host=shlex.quote(docker_host), python=python,
                                timeout=int(timeout), name=shlex.quote(name),
                                check=1 if check_mode else 0,
                                exists=EXISTS, created=CREATED, absent=ABSENT)


def quick_result(name, rc, stdout):
    """The module's result from the command's answer, or None when the module must run."""
    if rc != 0:
        return None
    state, _, inspect = stdout.strip().partition("\n")
    state = state.strip()
    if state not in (EXISTS, CREATED, ABSENT):
        return None
    try:
        network = json.loads(inspect)[0] if state != ABSENT else None
    except (ValueError, LookupError):
        network = None
    if not isinstance(network, dict):
        network = None
    if state == EXISTS and network is None:
        return None  # found but not read: the module reads it
    return network_result(name, state != EXISTS, network)


class ActionModule(ActionBase):
    """Answer a ready host with one shell command; run the module for any other."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        """The module's result, from the shell command when it answers."""
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        quick = self._quick(self._task.args, task_vars)
        result.update(quick if quick is not None
                      else self._execute_module(module_args=self._task.args, task_vars=task_vars))
        return result

    def _quick(self, args, task_vars):
        """The result of the shell command, or None when the module must answer."""
        name = args.get("name")
        docker_host = args.get("docker_host", ARGUMENT_SPEC["docker_host"]["default"])
        # The module's own timeout: how long a docker command may wait for the daemon.
        timeout = args.get("timeout", ARGUMENT_SPEC["timeout"]["default"])
        if (not set(args) <= set(ARGUMENT_SPEC) or not isinstance(name, str) or not name
                or not isinstance(docker_host, str) or not docker_host.startswith("unix://")
                or not str(timeout).isdigit()):
            return None
        python = self._module_python(task_vars)
        if python is None:
            return None
        command = quick_command(name, docker_host, timeout, python, self._task.check_mode)
        # The task's `environment` reaches the command as it reaches a module (PYTHONPATH, ...).
        environment = self._compute_environment_string()
        answer = self._low_level_execute_command(
            (environment + " " if environment else "") + "/bin/sh -c " + shlex.quote(command))
        return quick_result(name, answer.get("rc"), answer.get("stdout", ""))

    def _module_python(self, task_vars):
        """The interpreter the module would run on, or None while Ansible has to discover it."""
        try:
            return _get_shebang("/usr/bin/python", task_vars, self._templar)[1]
        except InterpreterDiscoveryRequiredError:
            return None  # the module's run discovers it
        except AnsibleError:
            return None  # a setting that does not template: the module's run says so
