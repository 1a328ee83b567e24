#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Ensure a container's env file and directories, and tell whether the container is converged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: container_state
short_description: In one call, write a container's env file and tell whether the container already matches its spec
description:
  - Writes the env file (directory created, mode C(0600)) and the host directories a container
    mounts, then reads the container, its image and the other running containers of the same
    role from Docker, so a converged host costs one round trip.
  - The desired container spec (every non-secret option) is hashed on the controller and stored
    in the label named by O(spec_label) when C(community.docker.docker_container) creates the
    container. The container is converged when it exists, runs (healthy, if it has a health
    check), carries that hash, runs the image
    that O(image) names locally, and the env file (which holds the secrets) did not change.
  - It never creates, starts, stops or removes a container; that stays with
    C(community.docker.docker_container). With O(network), it creates that network when it is
    missing and the container does not exist yet (Kamal's C(docker network create) before a
    first boot), so the caller needs no task of its own for it.
  - Idempotent; in check mode nothing is written (only GET requests reach the daemon) and
    RV(changed) says whether it would be.
  - "With C(--diff): the container before (exists, running, image, spec hash) and as the caller
    wants it, the env file's keys when it changes (never a value) and the directories it makes.
    Secrets are only in O(env_secrets) and O(registry), which are never logged, so the calling
    task needs no C(no_log)."
version_added: "0.1.0"
author: kdeploy
options:
  name:
    description: Container name.
    type: str
    required: true
  spec_hash:
    description: The hash of the desired spec, as the controller computed it.
    type: str
    required: true
  spec_label:
    description: The label that holds the spec hash on the container.
    type: str
    default: kdeploy.spec
  image:
    description:
      - The image reference the container should run. When set, the container only counts as
        converged if it runs the image ID this reference has on the host.
    type: str
  env_file:
    description:
      - Path of the env file, relative to the home directory unless absolute. Written from O(env_secrets).
    type: str
  env_secrets:
    description:
      - The secret env, C(KEY -> value), in order; written to O(env_file) (mode C(0600)) as Kamal
        does, one C(KEY=value) line each, values escaped like Ruby's C(String#dump). Never logged
        - the invocation shows the keys only, and no returned value holds one (the paths the
        module returns are never masked by a secret that happens to occur in them).
    type: dict
    default: {}
  directories:
    description: Directories to create (relative to the home directory unless absolute).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Directory path.
        type: str
        required: true
      mode:
        description: Mode, as a string like C("0755"); left alone when not set.
        type: str
      owner:
        description: Owner, C(user) or C(user:group); left alone when not set.
        type: str
  registry:
    description:
      - The registry login the container's image needs (C(server), null for Docker Hub;
        C(username); C(password)). RV(registry_stored) tells whether C(docker login) already
        stored exactly these credentials, which is the check C(community.docker.docker_login)
        makes with C(reauthorize=false) before it calls the registry; the caller can then skip
        that module call. Never logged.
    type: dict
  env_keys:
    description:
      - Clear env keys whose values in the running container RV(env) returns, so the caller can
        say what a change of config changes (before and after). Name only keys that hold no
        secret; the container's env also holds its env file's values.
    type: list
    elements: str
    default: []
  network:
    description:
      - A network the container joins. When the container does not exist and the network is
        missing, the network is created (in check mode only reported, RV(network_created)). An
        existing container leaves it alone.
    type: str
  others:
    description:
      - Labels of the containers that belong to the same role. Running or restarting containers
        with all these labels, other than O(name), are returned in RV(others).
    type: dict
  docker_host:
    description:
      - The Docker daemon URL. A C(unix://) socket is read with the Python standard library; any
        other daemon (tcp, ssh, TLS) through community.docker's client, which also takes the other
        options of the community.docker modules (C(tls), C(ca_path), C(timeout), ...).
    type: str
    default: unix:///var/run/docker.sock
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Non-secret fields only; the env file by its keys.
requirements:
  - community.docker (module_utils) and requests on the host, as for the community.docker modules
"""

EXAMPLES = r"""
- name: Prepare the env file and read the container's state.
  kdeploy.deploy.container_state:
    name: app-web-v1
    spec_hash: "{{ spec | to_json(sort_keys=true) | hash('sha1') }}"
    image: registry:5000/app:v1
    env_file: .kamal/apps/app/env/roles/web.env
    env_secrets:
      SECRET: "{{ lookup('ansible.builtin.env', 'KDEPLOY_SECRET_SECRET') }}"
    others: {service: app, role: web, destination: ""}
  register: state
"""

RETURN = r"""
home:
  description: The home directory relative paths were resolved against.
  type: str
  returned: always
env_file:
  description: Absolute path of the env file (null without O(env_file)).
  type: str
  returned: always
env_file_changed:
  description: Whether the env file was (or in check mode would be) written.
  type: bool
  returned: always
env_changed_keys:
  description:
    - The keys of O(env_secrets) whose line in the env file is added, changed or removed by this
      call (or in check mode would be), sorted. Names only, never a value.
  type: list
  elements: str
  returned: always
directories:
  description: Absolute paths of O(directories), in order.
  type: list
  returned: always
exists:
  description: Whether a container named O(name) exists.
  type: bool
  returned: always
running:
  description: Whether it runs, is not restarting and, when it has a HEALTHCHECK, is healthy.
  type: bool
  returned: always
spec:
  description: The value of its spec label (null without a container or label).
  type: str
  returned: always
spec_fields:
  description:
    - The value of its label named O(spec_label) followed by C(.fields) (null without one), a
      JSON object of one hash per spec field, so the caller can name what differs.
  type: str
  returned: always
image_matches:
  description: Whether it runs the image ID that O(image) has on the host (true without O(image)).
  type: bool
  returned: always
registry_stored:
  description:
    - Whether C(~/.docker/config.json) (or C($DOCKER_CONFIG/config.json)) stores O(registry)'s
      username and password in its file store (false without O(registry), or with a credential helper).
  type: bool
  returned: always
converged:
  description: Exists, runs, spec label equals O(spec_hash), image matches, env file unchanged.
  type: bool
  returned: always
env:
  description: The running container's values of O(env_keys), C(KEY -> value) (null for a key it does not have; empty without a container).
  type: dict
  returned: always
others:
  description: The other running containers with O(others) labels, as C({id, name}).
  type: list
  returned: always
network_created:
  description: Whether O(network) was created (in check mode, whether it would be).
  type: bool
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdeploy.deploy.plugins.module_utils.container_prep import (
    STATE_ARGUMENT_SPEC,
    prepare,
    state_diff,
)
from ansible_collections.community.docker.plugins.module_utils.util import DOCKER_COMMON_ARGS


def main():
    """Run the module."""
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(STATE_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_together=[["client_cert", "client_key"]],
    )
    result, container, _, invocation = prepare(module)
    result["diff"] = state_diff(module.params, container, result, result.pop("made"))
    module.exit_json(invocation=invocation, **result)


if __name__ == "__main__":
    main()
