# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""What kdeploy.deploy.docker_network takes and returns, for its module and its action plugin.

The action plugin answers a ready host with one shell command (plugins/action/docker_network.py),
the module every other host: both read these options and return these results, so a task reads
the same either way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kdeploy.deploy.plugins.module_utils.diff import spec_diff

# The module's options; the action plugin sends anything else to the module, which refuses it.
ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    timeout=dict(type="int", default=60),
)


def network_diff(name, changed, network):
    """Before/after for --diff: nothing -> {name, driver} when the network is (to be) created."""
    if not changed:
        state = dict(name=name, driver=(network or {}).get("Driver"))
        return spec_diff(state, state)
    return spec_diff(None, dict(name=name, driver=(network or {}).get("Driver") or "bridge"))


def network_outcome(name, changed):
    """The role outcome kdeploy reads from the result: the network, when it is (to be) created."""
    return dict(changes=[dict(kind="network", name=name, action="create")] if changed else [])


def network_result(name, changed, network):
    """The module's result on success: the network's inspect output, the diff and the outcome."""
    return dict(changed=changed, network=network, diff=network_diff(name, changed, network),
                kdeploy_outcome=network_outcome(name, changed))
