#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Run a container with a given `docker run` argv, once: its spec label tells a re-run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_run
short_description: Run a container with Kamal's docker run argv, idempotent by a spec label
description:
  - "Runs C(docker run <args> --label <spec_label>=<spec_hash> [--label <spec_label>.fields=...]
    <image> <command>) on the host, the C(docker) CLI with the caller's argv as it is (no shell):
    every flag of O(args) reaches docker, as Kamal's C(docker run) passes them."
  - "What exists decides (container named O(name)): none - it is run (RV(action) C(create)); one
    whose label O(spec_label) equals O(spec_hash) - left alone when it runs, started when it is
    stopped (C(start)); any other (another spec, or no label: booted by Kamal or by hand) - never
    touched: RV(action) C(differs) and RV(spec) tell what was found."
  - With O(recreate) an existing container, whatever its spec, is stopped (Docker's grace
    period), removed (its volumes kept) and run again (C(replace)).
  - Idempotent; in check mode nothing changes (only C(docker inspect) runs) and RV(action) says
    what would happen.
version_added: "0.2.0"
author: kdeploy
options:
  name:
    description: The container name (it must also be in O(args) as C(--name), as Kamal writes it).
    type: str
    required: true
  args:
    description: The C(docker run) arguments before the image (Kamal's order), without the spec labels.
    type: list
    elements: str
    default: []
  image:
    description: The image to run (pulled by C(docker run) when the host does not have it).
    type: str
    required: true
  command:
    description: The command after the image, split like a shell splits it (Kamal appends it to its shell line).
    type: str
  spec_label:
    description: The label that holds O(spec_hash).
    type: str
    default: kdeploy.spec
  spec_hash:
    description: The hash of every non-secret input of the container, computed by the caller.
    type: str
    required: true
  spec_fields:
    description: The value of the label C(<spec_label>.fields) (one hash per spec field, JSON), if any.
    type: str
  recreate:
    description: Replace an existing container, whatever its spec.
    type: bool
    default: false
extends_documentation_fragment:
  - kdeploy.deploy.docker_host
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The container's name, image, state and spec hash, before and after.
"""

EXAMPLES = r"""
- name: Boot the accessory.
  kdeploy.deploy.docker_run:
    name: app-db
    args: [--name, app-db, --detach, --restart, unless-stopped, --network, kamal, --shm-size, 1g]
    image: postgres:16
    spec_hash: "{{ spec | to_json(sort_keys=true) | hash('sha1') }}"
"""

RETURN = r"""
action:
  description: >-
    C(create), C(start) or C(replace) (done, or in check mode to be done), C(differs) (a container
    with another spec or none, left alone), or null (it already runs with this spec).
  type: str
  returned: always
container_id:
  description: The ID of the container run (null when none was, and in check mode).
  type: str
  returned: always
spec:
  description: The spec label of the container found before (null without one or without a container).
  type: str
  returned: always
argv:
  description: The C(docker) argv that ran (or in check mode would run), without the spec labels' values.
  type: list
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerClient, DockerError
from ansible_collections.kdeploy.deploy.plugins.module_utils.run_container import DockerRun


def main():
    """Run the module."""
    module = AnsibleModule(argument_spec=dict(
        name=dict(type="str", required=True),
        args=dict(type="list", elements="str", default=[]),
        image=dict(type="str", required=True),
        command=dict(type="str"),
        spec_label=dict(type="str", default="kdeploy.spec"),
        spec_hash=dict(type="str", required=True),
        spec_fields=dict(type="str"),
        recreate=dict(type="bool", default=False),
        docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    ), supports_check_mode=True)
    docker_host = module.params["docker_host"]
    if not docker_host.startswith("unix://"):
        module.fail_json(msg="kdeploy.deploy.docker_run needs a unix:// docker_host, not %s" % docker_host)
    try:
        module.exit_json(**DockerRun(module, DockerClient(docker_host)).run())
    except DockerError as exc:
        module.fail_json(msg="Cannot run %s: %s" % (module.params["name"], to_native(exc)))


if __name__ == "__main__":
    main()
