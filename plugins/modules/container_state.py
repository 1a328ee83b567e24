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

import json
import os
import pwd
import grp
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.diff import env_file_summary, spec_diff
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import (
    DockerClient,
    DockerError,
    DockerNotFound,
    ensure_network,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_remote import CommunityDocker
from ansible_collections.kdeploy.deploy.plugins.module_utils.env_file import render
from ansible_collections.kdeploy.deploy.plugins.module_utils.host_files import (
    docker_config_path,
    ensure_env_file,
    registry_stored,
    resolve,
)
from ansible_collections.community.docker.plugins.module_utils.util import DOCKER_COMMON_ARGS


def owner_ids(owner):
    """Return (uid, gid) for "user[:group]", -1 for a part that is not given."""
    if not owner:
        return -1, -1
    user, _, group = owner.partition(":")
    uid = pwd.getpwnam(user).pw_uid if user else -1
    gid = grp.getgrnam(group).gr_gid if group else -1
    return uid, gid


def ensure_directory(path, mode, owner, check_mode):
    """Kamal's `mkdir -p`, then chmod/chown when set; return whether anything changed."""
    changed = False
    if not os.path.isdir(path):
        changed = True
        if check_mode:
            return True
        os.makedirs(path)
    stat = os.stat(path)
    if mode and stat.st_mode & 0o7777 != int(mode, 8):
        changed = True
        if not check_mode:
            os.chmod(path, int(mode, 8))
    uid, gid = owner_ids(owner)
    if (uid != -1 and stat.st_uid != uid) or (gid != -1 and stat.st_gid != gid):
        changed = True
        if not check_mode:
            os.chown(path, uid, gid)
    return changed


def container_state(container, image_id, spec_label, spec_hash):
    """Read exists/running/spec/image_matches/converged from an inspect result (or None)."""
    if not container:
        return dict(exists=False, running=False, spec=None, spec_fields=None, image_matches=False,
                    converged=False)
    state = container.get("State") or {}
    labels = (container.get("Config") or {}).get("Labels") or {}
    # A container with a HEALTHCHECK must also be healthy (docker_container's state healthy
    # would wait for it); one without counts as soon as it runs.
    healthy = (state.get("Health") or {}).get("Status", "healthy") == "healthy"
    running = bool(state.get("Running")) and not state.get("Restarting") and healthy
    spec = labels.get(spec_label)
    image_matches = image_id is True or (image_id is not None and container.get("Image") == image_id)
    return dict(exists=True, running=running, spec=spec, spec_fields=labels.get(spec_label + ".fields"),
                image_matches=image_matches,
                converged=running and spec == spec_hash and image_matches)


def container_env(container, keys):
    """The container's values (Config.Env, `KEY=value` each) of keys; None for a key it lacks."""
    if not container or not keys:
        return {}
    found = {}
    for entry in (container.get("Config") or {}).get("Env") or []:
        key, separator, value = entry.partition("=")
        if separator:
            found[key] = value
    return dict((key, found.get(key)) for key in keys)


def env_lines(content):
    """The env file's lines by key (`KEY=value`, split at the first `=`); other lines are left out."""
    lines = {}
    for line in content.splitlines():
        key, separator, _ = line.partition("=")
        if separator:
            lines[key] = line
    return lines


def env_changed_keys(path, content):
    """The keys whose line differs between the env file at path (missing: none) and content."""
    try:
        with open(path, "rb") as handle:
            old = env_lines(to_native(handle.read(), errors="surrogate_or_strict"))
    except (IOError, OSError):
        old = {}
    new = env_lines(content)
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def state_diff(params, container, result, made):
    """Ansible's --diff: the container as it is and as the caller wants it (non-secret fields),
    the env file by its keys, the directories made."""
    config = (container or {}).get("Config") or {}
    before = dict(exists=result["exists"], running=result["running"],
                  image=config.get("Image"), spec_hash=result["spec"])
    after = dict(exists=True, running=True, image=params["image"] or config.get("Image"),
                 spec_hash=params["spec_hash"])
    if params["env_file"]:
        before["env_file"] = params["env_file"]
        after["env_file"] = params["env_file"] if not result["env_file_changed"] else "%s: %s" % (
            params["env_file"], env_file_summary(True, params["env_secrets"].keys()))
    if made:
        before["directories_made"], after["directories_made"] = [], made
    return spec_diff(before, after)


MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def keep_paths_readable(module):
    """Stop Ansible from masking the env values inside this module's result; return the
    invocation to report instead of the parameters.

    Ansible masks a no_log value wherever it occurs in the result, and the accessory role reads
    paths back (home, directories) and mounts them: a secret such as C(postgres) or C(root)
    would turn C(/root/app-postgres/data) into a masked path. Nothing this module returns holds an
    env value (the diff names keys only), so the values leave the mask set and the invocation
    reports them as masked by key. The registry's values stay masked as Ansible does it.
    """
    secrets = module.params.get("env_secrets") or {}
    registry = set(to_native(value) for value in (module.params.get("registry") or {}).values() if value)
    env_values = set(to_native(value) for value in secrets.values() if value not in (None, ""))
    module.no_log_values.difference_update(env_values - registry)
    shown = dict(module.params)
    shown["env_secrets"] = dict((key, MASKED) for key in secrets)
    if shown.get("registry"):
        shown["registry"] = MASKED
    return dict(module_args=shown)


def other_containers(listed, name):
    """Return {id, name} of listed containers (docker ps output) other than name."""
    others = []
    for container in listed:
        names = [entry.lstrip("/") for entry in container.get("Names") or []]
        if name not in names:
            others.append(dict(id=container["Id"], name=names[0] if names else container["Id"]))
    return others


def label_filter(labels):
    """Docker's filter syntax for running containers carrying every label in labels."""
    return json.dumps({
        "label": ["%s=%s" % (key, value) for key, value in sorted(labels.items())],
        "status": ["running", "restarting"],
    })


def read_docker(client, params):
    """Return (container inspect or None, image id / True / None, other running containers)."""
    try:
        container = client.get_json("/containers/{0}/json", params["name"])
    except DockerNotFound:
        container = None
    image_id = True
    if params["image"]:
        try:
            image_id = client.get_json("/images/{0}/json", params["image"]).get("Id")
        except DockerNotFound:
            image_id = None
    others = []
    if params["others"]:
        listed = client.get_json("/containers/json", params={"filters": label_filter(params["others"])})
        others = other_containers(listed, params["name"])
    return container, image_id, others


def needs_network(params, container):
    """Whether to make sure O(network) exists: asked for, and no container to boot yet."""
    return bool(params["network"]) and container is None


ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    spec_hash=dict(type="str", required=True),
    spec_label=dict(type="str", default="kdeploy.spec"),
    image=dict(type="str"),
    env_file=dict(type="str"),
    # no_log, and kept out of the result by keep_paths_readable: the task needs no no_log.
    env_secrets=dict(type="dict", default={}, no_log=True),
    directories=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True),
        mode=dict(type="str"),
        owner=dict(type="str"),
    )),
    env_keys=dict(type="list", elements="str", default=[], no_log=False),
    others=dict(type="dict"),
    network=dict(type="str"),
    registry=dict(type="dict", no_log=True, options=dict(
        server=dict(type="str"),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
    )),
)


def main():
    """Run the module."""
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_together=[["client_cert", "client_key"]],
    )
    params = module.params
    invocation = keep_paths_readable(module)
    home = os.path.expanduser("~")
    result = dict(changed=False, home=home, env_file=None, env_file_changed=False,
                  env_changed_keys=[], directories=[], registry_stored=False)
    registry = params["registry"]
    if registry:
        result["registry_stored"] = registry_stored(
            docker_config_path(), registry["server"], registry["username"], registry["password"])
    try:
        if params["env_file"]:
            result["env_file"] = resolve(home, params["env_file"])
            content = render(params["env_secrets"])
            result["env_changed_keys"] = env_changed_keys(result["env_file"], content)
            result["env_file_changed"] = ensure_env_file(result["env_file"], content, module.check_mode)
        made = []
        for directory in params["directories"]:
            path = resolve(home, directory["path"])
            result["directories"].append(path)
            if ensure_directory(path, directory["mode"], directory["owner"], module.check_mode):
                result["changed"] = True
                made.append(directory["path"])
        client = DockerClient(params["docker_host"], params["timeout"], CommunityDocker(module))
        container, image_id, others = read_docker(client, params)
        network_created = needs_network(params, container) and ensure_network(
            client, params["network"], module.check_mode)[0]
    except (IOError, OSError, KeyError) as exc:
        module.fail_json(msg="Cannot prepare %s: %s" % (params["name"], to_native(exc)),
                         exception=traceback.format_exc(), invocation=invocation)
    except DockerError as exc:
        module.fail_json(msg="Cannot read Docker state for %s: %s" % (params["name"], to_native(exc)),
                         exception=traceback.format_exc(), invocation=invocation)
    result.update(container_state(container, image_id, params["spec_label"], params["spec_hash"]))
    result["converged"] = result["converged"] and not result["env_file_changed"]
    result["others"] = others
    result["env"] = container_env(container, params["env_keys"])
    result["network_created"] = network_created
    result["changed"] = result["changed"] or result["env_file_changed"] or network_created
    result["diff"] = state_diff(params, container, result, made)
    module.exit_json(invocation=invocation, **result)


if __name__ == "__main__":
    main()
