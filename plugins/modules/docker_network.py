#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Make sure a Docker network exists on a daemon behind a unix socket, without requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_network
short_description: Create a Docker network when it is missing (unix socket, standard library only)
description:
  - The bootstrap probe of kdeploy's hosts, in one call. It fails when the daemon cannot be reached
    or when the Python library C(requests) that the community.docker modules need is missing (with
    community.docker's own message, so the caller can tell which to install), and otherwise creates
    the network (C(docker network create <name>), Kamal's bootstrap) unless it exists.
  - When the daemon cannot be reached it says why, so the caller never installs or starts a Docker
    that is there (RV(docker_state), RV(docker_programs), RV(docker_socket)).
  - Talks to the daemon with the Python standard library; importing requests and the vendored
    Docker client would cost about as much as the rest of the run. Only C(unix://) daemons; use
    C(community.docker.docker_network) for any other.
  - Its action plugin answers a ready host first with one shell command, as Kamal's bootstrap
    does (C(docker network inspect), C(docker network create) when the network is missing, and
    whether the Python this module would run on has C(requests)), and returns the same result.
    Only when that command does not answer does this module run on the host, to say why.
  - Idempotent; in check mode nothing is created (only GET requests reach the daemon) and
    RV(changed) says whether it would be.
version_added: "0.1.0"
author: kdeploy
options:
  name:
    description: Network name.
    type: str
    required: true
  timeout:
    description: Seconds to wait for the daemon.
    type: int
    default: 60
extends_documentation_fragment:
  - kdeploy.deploy.docker_host
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Nothing before, C({name, driver}) after, when the network is (or would be) created.
"""

EXAMPLES = r"""
- name: Ensure the kamal network exists.
  kdeploy.deploy.docker_network:
    name: kamal
"""

RETURN = r"""
network:
  description: The network's inspect output (null in check mode when it would be created).
  type: dict
  returned: success
kdeploy_outcome:
  description:
    - "What the call did or, in check mode, would do, in the form kdeploy's controller reads as a
      role's outcome: C({changes: [{kind: network, name, action: create}]}), an empty list when
      nothing changes."
  type: dict
  returned: success
docker_state:
  description:
    - Why the daemon could not be reached. C(stopped) the Docker programs are installed but no
      daemon answers on the socket; C(denied) the socket is there but not open to this user;
      C(missing) no Docker program was found.
  type: str
  returned: when the daemon cannot be reached
docker_programs:
  description: The Docker daemon and client found on the host (full paths), e.g. C(/usr/bin/dockerd).
  type: list
  elements: str
  returned: when the daemon cannot be reached
docker_socket:
  description: What the socket is like, as a phrase after its path (C(is missing), C(refuses connections ...)).
  type: str
  returned: when the daemon cannot be reached
docker_user:
  description: The user the module runs as (the one the socket must be open to).
  type: str
  returned: when the daemon cannot be reached
"""

import errno
import json
import os
import pwd
import stat
import traceback

try:
    from importlib.util import find_spec
    from urllib.parse import quote
except ImportError:  # Python 2 hosts are not supported by ansible-core 2.19 anyway
    find_spec = quote = None

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import (
    DockerClient,
    DockerError,
    create_network,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.network_result import (
    ARGUMENT_SPEC,
    network_result,
)

# community.docker's wording (missing_required_lib), which the bootstrap role reads to install
# only python3-requests when the daemon is there.
REQUESTS_MISSING = "Failed to import the required Python library (requests) on %s's Python %s."
# Where packages put Docker's programs, besides the PATH of the SSH session (get_bin_path adds
# the sbin directories itself).
DOCKER_DIRS = ["/usr/bin", "/usr/local/bin", "/snap/bin"]


def docker_call(path, timeout, method, url, body=None):
    """Send one request to the daemon; return (status, decoded JSON or None).

    Raises the socket's own OSError when no daemon answers: socket_state reads its errno.
    """
    try:
        status, payload = DockerClient("unix://" + path, timeout).request(method, url, body)
    except DockerError as exc:
        raise exc.__cause__ from None
    try:
        return status, json.loads(to_native(payload)) if payload else None
    except ValueError:
        return status, {"message": to_native(payload)}


def inspect_network(path, timeout, name):
    """Return (status, body) of the network's inspect; raise OSError when no daemon answers."""
    return docker_call(path, timeout, "GET", "/networks/%s" % quote(name, safe=""))


def ensure_network(path, timeout, name, check_mode, inspected=None):
    """Return (changed, inspect output or None); raise RuntimeError on a daemon error.

    `inspected`: the answer of inspect_network when the caller already has it. The creation is
    docker_api's, which the release module shares.
    """
    url = "/networks/%s" % quote(name, safe="")
    status, network = inspected or inspect_network(path, timeout, name)
    if status == 200:
        return False, network
    if status != 404:
        raise RuntimeError("Docker answered %s to GET %s: %s" % (status, url, network))
    try:
        return True, create_network(DockerClient("unix://" + path, timeout), name, check_mode)
    except DockerError as exc:
        raise RuntimeError("Cannot create network %s: %s" % (name, to_native(exc)))


def socket_state(path, error):
    """Say what the daemon's socket is like, given the error connecting to it raised.

    Returns (state, phrase): state is C(denied) when the socket is there but not open to this
    user, else C(stopped); the phrase follows the socket's URL in messages.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "stopped", "is missing (no Docker daemon has created it)"
    if not stat.S_ISSOCK(mode):
        return "stopped", "is not a socket"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "denied", "is not open to this user (permission denied)"
    if error.errno == errno.ECONNREFUSED:
        return "stopped", "refuses connections (no Docker daemon listens on it)"
    return "stopped", "does not answer (%s)" % to_native(error)


def docker_programs(find):
    """The Docker daemon and client on this host as full paths, looked up with find(name)."""
    return [path for path in (find(name) for name in ("dockerd", "docker")) if path]


def unreachable(path, error, programs):
    """The result fields of a daemon that cannot be reached (see RETURN)."""
    state, phrase = socket_state(path, error)
    if state == "stopped" and not programs:
        state = "missing"
    return dict(msg="Error connecting: cannot reach Docker at unix://%s: %s" % (path, to_native(error)),
                docker_state=state, docker_programs=programs, docker_socket=phrase,
                docker_user=pwd.getpwuid(os.geteuid()).pw_name)


def main():
    """Run the module."""
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
    )
    params = module.params
    if not params["docker_host"].startswith("unix://"):
        module.fail_json(msg="kdeploy.deploy.docker_network only talks to unix:// daemons, not %s"
                         % params["docker_host"])
    path = params["docker_host"][len("unix://"):]
    try:
        # The daemon first: a stopped Docker must be told apart from a missing one, requests or not.
        inspected = inspect_network(path, params["timeout"], params["name"])
        if find_spec("requests") is None:
            import platform
            import sys
            module.fail_json(msg=REQUESTS_MISSING % (platform.node(), sys.executable))
        changed, network = ensure_network(path, params["timeout"], params["name"], module.check_mode,
                                          inspected)
    except (IOError, OSError) as exc:
        programs = docker_programs(lambda name: module.get_bin_path(name, opt_dirs=DOCKER_DIRS))
        module.fail_json(exception=traceback.format_exc(), **unreachable(path, exc, programs))
    except RuntimeError as exc:
        module.fail_json(msg=to_native(exc))
    module.exit_json(**network_result(params["name"], changed, network))


if __name__ == "__main__":
    main()
