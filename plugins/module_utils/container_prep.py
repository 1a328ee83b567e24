# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""A container's preparation and state in one call: env file, directories, network, Docker's view.

What the modules container_state and accessory_boot share: `prepare` writes the env file (mode
0600) and the directories a container mounts, reads the container, its image and the other
running containers of its role, and makes the network a first boot needs. Secrets are only in the
options env_secrets and registry, which Ansible never logs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
import traceback

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
    image_matches = image_id is True or (
        image_id is not None and container.get("Image") == image_id)
    return dict(exists=True, running=running, spec=spec,
                spec_fields=labels.get(spec_label + ".fields"), image_matches=image_matches,
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
    """The env file's lines by key (`KEY=value`, split at the first `=`); others are left out."""
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
    """Ansible's --diff: the container as it is and as the caller wants it.

    Non-secret fields only: the env file by its keys, the directories made.
    """
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
    """Keep Ansible from masking env values in the result; return the invocation to report.

    Ansible masks a no_log value wherever it occurs in the result, and the accessory role reads
    paths back (home, directories) and mounts them: a secret such as C(postgres) or C(root)
    would turn C(/root/app-postgres/data) into a masked path. Nothing the module returns holds an
    env value (the diff names keys only), so the values leave the mask set and the invocation
    reports them as masked by key. The registry's values stay masked as Ansible does it.
    """
    secrets = module.params.get("env_secrets") or {}
    registry = set(to_native(value)
                   for value in (module.params.get("registry") or {}).values() if value)
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
        listed = client.get_json("/containers/json",
                                 params={"filters": label_filter(params["others"])})
        others = other_containers(listed, params["name"])
    return container, image_id, others


def needs_network(params, container):
    """Whether to make sure O(network) exists: asked for, and no container to boot yet."""
    return bool(params["network"]) and container is None


# The options of container_state, which accessory_boot takes too.
STATE_ARGUMENT_SPEC = dict(
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


def prepare(module):
    """Write the env file and directories, read Docker's state; fail the module on an error.

    Returns:
        (result, container inspect data or None, client, invocation): result holds every
        RETURN value of container_state except diff (`made` lists the directories made).
    """
    params = module.params
    invocation = keep_paths_readable(module)
    home = os.path.expanduser("~")
    result = dict(changed=False, home=home, env_file=None, env_file_changed=False,
                  env_changed_keys=[], directories=[], registry_stored=False, made=[])
    registry = params["registry"]
    if registry:
        result["registry_stored"] = registry_stored(
            docker_config_path(), registry["server"], registry["username"], registry["password"])
    try:
        if params["env_file"]:
            result["env_file"] = resolve(home, params["env_file"])
            content = render(params["env_secrets"])
            result["env_changed_keys"] = env_changed_keys(result["env_file"], content)
            result["env_file_changed"] = ensure_env_file(result["env_file"], content,
                                                         module.check_mode)
        for directory in params["directories"]:
            path = resolve(home, directory["path"])
            result["directories"].append(path)
            if ensure_directory(path, directory["mode"], directory["owner"], module.check_mode):
                result["changed"] = True
                result["made"].append(directory["path"])
        client = DockerClient(params["docker_host"], params["timeout"], CommunityDocker(module))
        container, image_id, others = read_docker(client, params)
        network_created = needs_network(params, container) and ensure_network(
            client, params["network"], module.check_mode)[0]
    except (IOError, OSError, KeyError) as exc:
        module.fail_json(msg="Cannot prepare %s: %s" % (params["name"], to_native(exc)),
                         exception=traceback.format_exc(), invocation=invocation)
    except DockerError as exc:
        module.fail_json(msg="Cannot read Docker state for %s: %s"
                             % (params["name"], to_native(exc)),
                         exception=traceback.format_exc(), invocation=invocation)
    result.update(container_state(container, image_id, params["spec_label"], params["spec_hash"]))
    result["converged"] = result["converged"] and not result["env_file_changed"]
    result["others"] = others
    result["env"] = container_env(container, params["env_keys"])
    result["network_created"] = network_created
    result["changed"] = result["changed"] or result["env_file_changed"] or network_created
    return result, container, client, invocation
