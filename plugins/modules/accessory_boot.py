#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Boot an accessory on this host in one call: prepare, run, wait until healthy, audit, report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: accessory_boot
short_description: Boot a Kamal accessory in one call, idempotent by its spec label
description:
  - "Kamal's C(accessory boot) on one host, in one module call: what C(kdeploy.deploy.container_state)
    does (env file, directories, the network before a first boot, the container's state), then
    what C(kdeploy.deploy.docker_run) does (C(docker run) with Kamal's argv, built here from
    O(config)), the registry login before it when C(docker login) has not stored these
    credentials, the wait until a container with a health check is healthy, the audit line
    C(Booted <accessory> accessory), and the outcome."
  - "What exists decides: none - booted (C(create)); running with this spec and the same env
    file - left alone; stopped with this spec - started (C(start)); the env file (the secrets)
    changed - replaced (C(replace)); another spec - left running and reported (C(differs), the
    differing fields in RV(differences) and RV(differs)); no spec label (booted by Kamal or by
    hand) - left as it is and reported (RV(unlabelled))."
  - An accessory whose health check does not pass within O(deploy_timeout) fails the module with
    its last 20 log lines.
  - Stops at a safe point when kdeploy is interrupted (module_utils/stop.py), leaving a note for
    C(kdeploy.deploy.settle).
  - Idempotent; in check mode nothing is written (only reads reach the daemon), no audit line and
    no health wait, and RV(kdeploy_outcome) says what would change.
  - "With C(--diff): the container before and after, the env file's keys when it changes (never a
    value) and the directories it makes. Secrets are only in O(env_secrets) and O(registry),
    which are never logged, so the calling task needs no C(no_log)."
version_added: "0.3.0"
author: kdeploy
options:
  accessory:
    description: The accessory's name in the config (for the reports and the audit line).
    type: str
    required: true
  host:
    description: The host's inventory name (C(KAMAL_HOST) and the reports).
    type: str
    required: true
  config:
    description:
      - "The accessory's settings as kdeploy's inventory has them (C(kdeploy_accessories[name])):
        C(service_name), C(image), C(cmd), C(published_ports), C(labels), C(env), C(volumes),
        C(directories), C(files), C(network), C(log_driver), C(log_options), C(docker_args),
        C(restart_policy). No secret: the secret env is O(env_secrets)."
    type: dict
    required: true
  spec:
    description:
      - "Every non-secret input of the container (the role's C(__accessory_spec)). Its hash is the
        label O(spec_label): C(sha1) of its JSON (keys sorted, Python's default separators, the
        text of Jinja's C(to_json(sort_keys=true))); one C(md5) per field, the same way, is the
        label C(<spec_label>.fields), which tells what differs. A running container with that
        label, the image the configured tag has on the host and an unchanged env file is converged."
      - The container is C(config.service_name), runs C(config.image) and gets the env file
        C(config.env_file) (relative to the home directory unless absolute); C(config.directories)
        are made (C(mode), C(owner) when set).
    type: dict
    required: true
  spec_label:
    description: The label that holds the spec hash on the container.
    type: str
    default: kdeploy.spec
  env_secrets:
    description: The secret env, C(KEY -> value), written to the env file (mode C(0600)). Never logged.
    type: dict
    default: {}
  network:
    description: The network created before a first boot when it is missing.
    type: str
  registry:
    description:
      - The registry login the image needs (C(server), null for Docker Hub; C(username);
        C(password)). C(docker login) runs before a boot unless it stored exactly these
        credentials already. Never logged.
    type: dict
  registry_password_env:
    description: The controller's environment variable that holds the registry password (named when it is empty).
    type: str
  deploy_timeout:
    description: Seconds a booted accessory with a health check may take to become healthy.
    type: int
    default: 30
  audit:
    description: >-
      Audit log line parts, C({log: path, tags: [performer, destination]}) (empty tags are left
      out); the line is C([<utc time>] [<tag>]... Booted <accessory> accessory), as Kamal writes it.
    type: dict
  from_inventory:
    description:
      - "kdeploy's own plays (C(roles/accessory/tasks/boot.yml)): the action plugin builds
        O(accessory), O(host), O(config), O(spec), O(env_secrets), O(registry),
        O(registry_password_env) and O(audit) on the controller from kdeploy's inventory
        (C(kdeploy_accessories), C(kdeploy_registry)) and the secrets in its environment, as the
        accessory role's variables would, and never sends this option to the host."
      - "Keys: C(accessory), C(destination), C(performer), C(service_with_destination), and any
        of O(spec_label), O(network), O(deploy_timeout), O(docker_host), passed on as they are.
        The other options are then not given."
      - Fails, naming the host and accessory, when the inventory has no entry for the accessory.
    type: dict
  docker_host:
    description:
      - The Docker daemon URL. A C(unix://) socket is read with the Python standard library; any
        other daemon through community.docker's client, which also takes the other options of the
        community.docker modules (C(tls), C(ca_path), C(timeout), ...).
    type: str
    default: unix:///var/run/docker.sock
attributes:
  action:
    support: full
    details: The action plugin builds the arguments of O(from_inventory).
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Non-secret fields only; the env file by its keys.
requirements:
  - community.docker (module_utils) and requests on the host, as for the community.docker modules
"""

EXAMPLES = r"""
- name: Boot the accessory.
  kdeploy.deploy.accessory_boot:
    accessory: db
    host: "{{ inventory_hostname }}"
    config: "{{ kdeploy_accessories.db }}"
    spec: "{{ spec }}"
    network: kamal
"""

RETURN = r"""
converged:
  description: The accessory ran with this spec and env file already; nothing was done.
  type: bool
  returned: always
action:
  description: C(create), C(start) or C(replace) (done, or in check mode to be done); null otherwise.
  type: str
  returned: always
booted:
  description: The container was (or in check mode would be) created, started or replaced.
  type: bool
  returned: always
differences:
  description: The spec fields in which the running container differs from the config (names only).
  type: list
  elements: str
  returned: always
differs:
  description: The report of a running accessory that differs from its config (null otherwise).
  type: str
  returned: always
unlabelled:
  description: The report of an accessory booted without kdeploy's spec label (null otherwise).
  type: str
  returned: always
accessory_outcome:
  description: >-
    What boot did for C(kdeploy accessory boot)'s report, C({accessory, outcome, differences}):
    booted, differs or running; null for a converged accessory.
  type: dict
  returned: always
kdeploy_outcome:
  description: >-
    The change, in kdeploy's terms (C({changes: [...]}): the accessory created, started,
    replaced, or differing, with the differing fields; a secret env key by name only).
  type: dict
  returned: always
home:
  description: The home directory relative paths were resolved against.
  type: str
  returned: always
env_file:
  description: Absolute path of the env file.
  type: str
  returned: always
directories:
  description: Absolute paths of O(directories), in order.
  type: list
  returned: always
"""

import hashlib
import json
import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.container_prep import (
    STATE_ARGUMENT_SPEC,
    prepare,
    state_diff,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerError
from ansible_collections.kdeploy.deploy.plugins.module_utils.host_files import record
from ansible_collections.kdeploy.deploy.plugins.module_utils.run_container import (
    DockerRun,
    wanted_action,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.stop import (
    StopRequested,
    StopSignal,
    write_note,
)
from ansible_collections.community.docker.plugins.module_utils.util import DOCKER_COMMON_ARGS

LOG_LINES = 20
BOOTED = ("create", "start", "replace")


def json_hash(value, algorithm):
    """The hash of value's JSON: Jinja's `to_json(sort_keys=true) | hash(algorithm)`."""
    return hashlib.new(algorithm, to_bytes(json.dumps(value, sort_keys=True))).hexdigest()


def spec_fields(spec):
    """One md5 per spec field (the label `<spec_label>.fields`), in the spec's order."""
    return dict((key, json_hash(value, "md5")) for key, value in spec.items())


def derive(params):
    """Fill in container_state's options that this module derives from config and spec."""
    config, spec = params["config"], params["spec"]
    params.update(
        name=config["service_name"], image=config["image"], env_file=config["env_file"],
        spec_hash=json_hash(spec, "sha1"), spec_fields=spec_fields(spec), others=None,
        directories=[dict(path=entry["path"],
                          mode=None if entry.get("mode") is None else to_native(entry["mode"]),
                          owner=entry.get("owner") or None)
                     for entry in config.get("directories") or []],
        # The clear env's keys, for what a changed value was (a secret key is never read back).
        env_keys=[key for key in spec.get("env") or {} if key not in params["env_secrets"]])


def mount(entry):
    """A directory's or file's container side: `mount[:options]`."""
    return ":".join(part for part in (entry.get("mount"), entry.get("options") or "") if part)


def volumes(config, directory_paths, home):
    """`volumes:` as written, then each directory and file as `host path:mount[:options]`."""
    found = [to_native(volume) for volume in config.get("volumes") or []]
    for index, entry in enumerate(config.get("directories") or []):
        found.append("%s:%s" % (directory_paths[index], mount(entry)))
    for entry in config.get("files") or []:
        path = entry["path"] if entry["path"].startswith("/") else home + "/" + entry["path"]
        found.append("%s:%s" % (path, mount(entry)))
    return found


def run_args(config, host, env_file, directory_paths, home):
    """Kamal's `docker run` argv of the accessory before the image (lib/kamal/commands/accessory.rb#run).

    Name, restart policy, network, logging, ports, KAMAL_HOST and the clear env, the env file,
    volumes and mounts, labels, then `options:` as Kamal's flags (`docker_args`).
    """
    args = ["--name", config["service_name"], "--detach", "--restart", config["restart_policy"],
            "--network", config["network"]]
    if config.get("log_driver"):
        args += ["--log-driver", config["log_driver"]]
    for key, value in (config.get("log_options") or {}).items():
        args += ["--log-opt", "%s=%s" % (key, value)]
    for port in config.get("published_ports") or []:
        args += ["--publish", to_native(port)]
    args += ["--env", "KAMAL_HOST=%s" % host]
    for key, value in (config.get("env") or {}).items():
        args += ["--env", "%s=%s" % (key, value)]
    args += ["--env-file", env_file]
    for volume in volumes(config, directory_paths, home):
        args += ["--volume", volume]
    for key, value in (config.get("labels") or {}).items():
        args += ["--label", "%s=%s" % (key, value)]
    return args + [to_native(arg) for arg in config.get("docker_args") or []]


def differences(wanted, state):
    """The spec fields in which the running container differs (`options` for `docker`), plus
    `image` when it runs another image than the tag has on the host; [] without a fields label."""
    if not state["spec_fields"]:
        return []
    running = json.loads(state["spec_fields"])
    names = ["options" if key == "docker" else key for key, value in wanted.items()
             if key != "format" and running.get(key, None) != value]
    if not state["image_matches"] and "image" not in names:
        names.append("image")
    return names


def changed_fields(names, spec, state, secret_keys):
    """What differs, field by field: a spec field by name with its configured value (the spec
    holds no secret); the clear env by key with the running value; a secret key by name only."""
    fields = []
    running_env = state.get("env") or {}
    for name in names:
        key = "docker" if name == "options" else name
        env_fields = []
        if name == "env":
            env_fields = [dict(field="env." + env_key, before=running_env.get(env_key), after=value)
                          for env_key, value in (spec.get("env") or {}).items()
                          if env_key not in secret_keys and running_env.get(env_key) != value]
        if env_fields:
            fields += env_fields
        else:
            fields.append(dict(field=name, after=spec[key]) if key in spec else dict(field=name))
    fields += [dict(field="env." + key, secret=True) for key in state["env_changed_keys"]
               if key in secret_keys]
    return fields


def change(params, state, booted, names):
    """kdeploy_outcome's changes: create, replace, start or differs; [] when nothing changed."""
    entry = dict(kind="accessory", name=params["accessory"], image=params["config"]["image"])
    if state["converged"]:
        return []
    if not state["exists"]:
        entry["action"] = "create"
    elif booted:
        entry["action"] = "replace" if state["running"] else "start"
    elif names:
        entry["action"] = "differs"
    else:
        return []
    fields = changed_fields(names, params["spec"], state, set(params["env_secrets"]))
    if entry["action"] != "create" and fields:
        entry["fields"] = fields
    return [entry]


class Unhealthy(Exception):
    """The booted accessory did not become healthy in time; the message says it all."""


class AccessoryBoot(object):
    """One accessory boot on this host; `run` returns the module result."""

    def __init__(self, module, stop):
        self.module = module
        self.params = module.params
        self.stop = stop
        self.step = "preparing"
        self.booted_id = None
        self.home = os.path.expanduser("~")

    def run(self):
        params = self.params
        self.stop.check()
        state, container, client, invocation = prepare(self.module)
        self.home = state["home"]
        names = [] if not state["exists"] else differences(params["spec_fields"], state)
        would_change = not state["converged"] and (not state["exists"] or (
            not names and state["spec_fields"] is not None
            and (not state["running"] or state["env_file_changed"])))
        action = None
        if would_change:
            run_params = self.run_params(state)
            action = wanted_action(container, run_params)
            if action in BOOTED and not self.module.check_mode:
                self.stop.check()
                self.step = "booting"
                if action in ("create", "replace"):
                    self.login(client, state)
                self.booted_id = DockerRun(self.module, client, run_params).apply(action, container)
                self.step = "waiting until it is healthy"
                self.wait_healthy(client)
                record(params["audit"], self.home, "Booted %s accessory" % params["accessory"])
        booted = action in BOOTED
        made = state.pop("made")
        result = dict(invocation=invocation, converged=state["converged"], action=action,
                      booted=booted, differences=names, home=state["home"],
                      env_file=state["env_file"], directories=state["directories"],
                      changed=state["changed"] or booted)
        result.update(self.reports(state, booted, names))
        result["kdeploy_outcome"] = dict(changes=change(params, state, booted, names))
        result["diff"] = state_diff(params, container, state, made)
        if not booted:  # the container stays as it is: the diff says so
            result["diff"]["after"].update(dict((key, result["diff"]["before"][key])
                                                for key in ("exists", "running", "image", "spec_hash")))
        return result

    def run_params(self, state):
        """docker_run's options, derived from this module's."""
        params = self.params
        config = params["config"]
        return dict(name=params["name"], image=params["image"],
                    args=run_args(config, params["host"], state["env_file"], state["directories"],
                                  state["home"]),
                    command=config.get("cmd"), spec_label=params["spec_label"],
                    spec_hash=params["spec_hash"],
                    spec_fields=json.dumps(params["spec_fields"], sort_keys=True),
                    recreate=state["exists"] and state["env_file_changed"])

    def reports(self, state, booted, names):
        """What the user reads: the differing or unlabelled accessory, and the boot's outcome."""
        params = self.params
        where = "Accessory %s (%s) on %s" % (params["accessory"], params["name"], params["host"])
        differs = unlabelled = outcome = None
        if state["exists"] and not state["converged"] and names:
            differs = ("%s differs from its config in %s; the running container was left alone. "
                       "Apply the change with `kdeploy accessory reboot %s`."
                       % (where, ", ".join(names), params["accessory"]))
        if state["exists"] and not state["converged"] and state["spec_fields"] is None:
            unlabelled = ("%s has no %s.fields label (booted by Kamal or by hand): its config cannot "
                          "be compared, so it was left as it is. `kdeploy accessory reboot %s` "
                          "replaces it with one booted from this config."
                          % (where, params["spec_label"], params["accessory"]))
        if not state["converged"]:
            outcome = dict(accessory=params["accessory"],
                           outcome="booted" if booted else "differs" if names else "running",
                           differences=names)
        return dict(differs=differs, unlabelled=unlabelled, accessory_outcome=outcome)

    def login(self, client, state):
        """`docker login` with the registry's credentials, unless it stored them already."""
        registry = self.params["registry"]
        if not registry or state["registry_stored"]:
            return
        server = registry.get("server")
        if not registry["password"]:
            raise DockerError(
                "The registry password for %s is missing: set %s in the environment of "
                "ansible-playbook (kdeploy passes it from .kamal/secrets)."
                % (server or "Docker Hub", self.params["registry_password_env"] or "its variable"))
        argv = ["login", "--username", registry["username"], "--password-stdin"]
        rc, out, err = client.cli(argv + ([server] if server else []), stdin=registry["password"])
        if rc != 0:
            raise DockerError("docker login %s failed: %s" % (server or "", (err or out).strip()))

    def wait_healthy(self, client):
        """Poll the health status once a second until healthy (or no health check at all)."""
        params = self.params
        deadline = time.time() + params["deploy_timeout"]
        while True:
            container = client.inspect_container(params["name"])
            if container is None:
                raise Unhealthy(
                    "Accessory %s (%s) on %s was removed while kdeploy waited for it to be healthy"
                    % (params["accessory"], params["name"], params["host"]))
            health = (container.get("State") or {}).get("Health")
            status = health.get("Status") if health else "none"
            if status in ("healthy", "none"):
                return
            if time.time() >= deadline:
                raise Unhealthy(
                    "Accessory %s (%s) on %s did not become healthy within the deploy timeout of "
                    "%s seconds (health: %s). Its last log lines:\n%s"
                    % (params["accessory"], params["name"], params["host"],
                       params["deploy_timeout"], status, self.log_tail(client)))
            self.stop.sleep(1)

    def log_tail(self, client):
        rc, out, err = client.cli(["logs", "--tail", str(LOG_LINES), self.params["name"]])
        return (out + err).strip() if rc == 0 else err.strip()


DERIVED = ("name", "image", "env_file", "spec_hash", "directories", "env_keys", "others")
# container_state's options, but those derive() fills in from config and spec.
ARGUMENT_SPEC = dict(
    [(key, value) for key, value in STATE_ARGUMENT_SPEC.items() if key not in DERIVED],
    accessory=dict(type="str", required=True),
    host=dict(type="str", required=True),
    config=dict(type="dict", required=True),
    spec=dict(type="dict", required=True),
    registry_password_env=dict(type="str", no_log=False),
    deploy_timeout=dict(type="int", default=30),
    audit=dict(type="dict"),
    # Handled by the action plugin on the controller; it never reaches the host.
    from_inventory=dict(type="dict"),
)


def interrupted_note(boot):
    """What an interrupted boot left on the host, for kdeploy.deploy.settle's report."""
    left = ("%s runs, not yet healthy" % boot.params["name"] if boot.booted_id
            else "nothing was booted")
    return dict(module="kdeploy.deploy.accessory_boot", role="accessory %s" % boot.params["accessory"],
                container=boot.params["name"], step=boot.step, left=left)


def main():
    """Run the module."""
    argument_spec = dict(DOCKER_COMMON_ARGS)
    argument_spec.update(ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[["client_cert", "client_key"]])
    derive(module.params)
    boot = AccessoryBoot(module, StopSignal().install())
    try:
        module.exit_json(**boot.run())
    except StopRequested:
        note = interrupted_note(boot)
        write_note(boot.home, note)
        module.fail_json(msg="Interrupted while %s: %s" % (note["step"], note["left"]))
    except Unhealthy as exc:
        module.fail_json(msg=to_native(exc))
    except (DockerError, IOError, OSError) as exc:
        module.fail_json(msg="Cannot boot %s: %s" % (module.params["name"], to_native(exc)),
                         exception=traceback.format_exc())


if __name__ == "__main__":
    main()
