# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""`docker run` of a container once, told apart from a re-run by its spec label.

What the modules docker_run and accessory_boot share: the argv (the caller's `docker run`
arguments, the spec labels, the image, the command), what to do about the container found
(create, start, replace, or leave a differing one alone) and doing it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerError


def run_argv(params):
    """`docker run`: the caller's args, the spec labels, the image, the command words."""
    labels = ["--label", "%s=%s" % (params["spec_label"], params["spec_hash"])]
    if params["spec_fields"]:
        labels += ["--label", "%s.fields=%s" % (params["spec_label"], params["spec_fields"])]
    command = shlex.split(params["command"]) if params["command"] else []
    return ["run", *params["args"], *labels, params["image"], *command]


def wanted_action(container, params):
    """What to do about the container found (inspect result or None)."""
    if container is None:
        return "create"
    if params["recreate"]:
        return "replace"
    labels = (container.get("Config") or {}).get("Labels") or {}
    if labels.get(params["spec_label"]) != params["spec_hash"]:
        return "differs"
    return None if (container.get("State") or {}).get("Running") else "start"


def shown_argv(argv, params):
    """The argv for the result: the fields label is long and says nothing to a reader."""
    fields = "%s.fields=" % params["spec_label"]
    return [item if not item.startswith(fields) else fields + "..." for item in argv]


class DockerRun(object):
    """Apply wanted_action through the docker CLI (run, start) and API (stop, remove)."""

    def __init__(self, module, docker, params=None):
        self.module = module
        self.docker = docker
        # name, args, image, command, spec_label, spec_hash, spec_fields, recreate: the module's
        # own options (docker_run), or the ones another module derived (accessory_boot).
        self.params = module.params if params is None else params

    def cli(self, argv):
        """Run the docker CLI; its stdout, or DockerError naming the container."""
        rc, out, err = self.docker.cli(argv)
        if rc != 0:
            raise DockerError("docker %s %s failed: %s"
                              % (argv[0], self.params["name"], (err or out).strip()))
        return out

    def apply(self, action, container):
        """Do `action` (create, start, replace) to the container found; return the one that runs."""
        if action == "replace":
            self.docker.call("POST", "/containers/%s/stop" % container["Id"])
            self.docker.call("DELETE", "/containers/%s" % container["Id"], missing_ok=True)
        if action in ("create", "replace"):
            return self.cli(run_argv(self.params)).strip().splitlines()[-1]
        self.cli(["start", container["Id"]])
        return container["Id"]

    def run(self):
        """Inspect the container, do what wanted_action says; return docker_run's result."""
        params = self.params
        container = self.docker.inspect_container(params["name"])
        found = container or {}
        labels = (found.get("Config") or {}).get("Labels") or {}
        action = wanted_action(container, params)
        changed = action in ("create", "start", "replace")
        result = dict(changed=changed, action=action, container_id=None,
                      spec=labels.get(params["spec_label"]),
                      argv=shown_argv(run_argv(params), params))
        before = dict(name=params["name"], exists=container is not None,
                      running=bool((found.get("State") or {}).get("Running")),
                      image=(found.get("Config") or {}).get("Image"), spec_hash=result["spec"])
        after = dict(before)
        if changed:
            after.update(exists=True, running=True, image=params["image"],
                         spec_hash=params["spec_hash"])
            if not self.module.check_mode:
                result["container_id"] = self.apply(action, container)
        result["diff"] = dict(before=before, after=after)
        return result
