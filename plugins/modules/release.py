#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Boot one version of one Kamal role on this host in one call: Kamal's `app boot` step."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: release
short_description: Boot one app version on a host as Kamal does, in one round trip
description:
  - The whole release step of one Kamal role on one host, through the Docker API on the host
    (and the C(docker) CLI for C(login), C(pull), C(run) and C(logs), with Kamal's own argv).
  - "In order: write the env file (0600); when the container named O(name) already runs with the
    same spec (label O(spec_label) equal to the hash of O(spec)), the same image and an unchanged env
    file, stop here (converged: no pull, no waiting) - with O(pull=always), only when the registry
    still has the local image under the tag (the daemon reads the tag's manifest, no layer; a
    tag that moved is pulled, and a new image replaces the container). Otherwise: log in (only
    when the host does not store these credentials), pull (O(pull)), rename a container that holds the name to
    C(<name>_replaced_<16 hex>) as Kamal does, create the network O(network) when it is missing
    (as Kamal's deploy does), record the boot in the audit log, C(docker run),
    and wait until the container is healthy (Docker HEALTHCHECK) or running and still running
    after O(readiness_delay) seconds, retrying with Kamal's back-off until O(deploy_timeout)."
  - A container that does not become ready is stopped and removed, its log tail is returned in
    the failure message and in RV(log), and the module fails; the previous version keeps running.
  - After a ready (or converged) container, the other running containers with the labels
    O(role_labels) are stopped with O(stop_timeout), the image is tagged O(latest_tag), and
    (with O(retain_containers)) Kamal's C(prune all) runs - stopped containers of the service
    beyond O(retain_containers) are removed, then dangling images of the service and its image
    tags that no container uses (latest tags kept).
  - Idempotent; in check mode nothing changes on the host (only GET requests reach the daemon, no
    file is written) and RV(changed) says whether it would.
  - "With C(--diff): the role's running container before (name, image, version, spec hash, the
    inspectable spec fields), the container after, the env file's keys when it changes (never a
    value) and which containers run before and after. Secrets are only in O(env_secrets),
    O(registry) and O(files), which Ansible masks, so the calling task needs no C(no_log)."
  - "Interruptible: SIGTERM (sent by kdeploy.deploy.settle when kdeploy is interrupted) stops the release at
    the next safe point. Before the proxy switch (or readiness) the new container is removed and the
    previous version keeps running; after it, the other versions are left running. A pull, the
    readiness wait and health probes are cut short at once; a docker run, a kamal-proxy deploy and a
    container stop already under way are let finish. The module then leaves its account in
    C(~/.kdeploy/interrupted/<pid>.json) for kdeploy.deploy.settle."
version_added: "0.1.0"
author: kdeploy
options:
  name:
    description: The container name, C(<service>-<role>[-<destination>]-<version>). Defaults to the same key of O(spec); one of the two is required.
    type: str
  image:
    description: The image to run, C(<repository>:<version>). Defaults to the same key of O(spec); one of the two is required.
    type: str
  pull:
    description:
      - C(always) pulls the image (a converged container's image only when the registry's digest
        for the tag is not the local image's; failing like a pull when the registry cannot say);
        C(missing) only when the host does not have it.
    type: str
    choices: [always, missing]
    default: missing
  pull_only:
    description:
      - Only log in and pull the image as a boot would (O(pull)), then stop; nothing else changes
        on the host. The action plugin calls this for a role waiting at the role barrier
        (O(barrier)) when it has no second session for O(barrier_go_file), so that the pull
        overlaps the wait, as Kamal pulls on every host before any boots. Does nothing in check
        mode.
    type: bool
    default: false
  prefetched:
    description:
      - What a O(pull_only) call of this same release just before did. C(none), there was none.
        Otherwise the image is not pulled again (nor its tag checked at the registry), and is
        still reported as pulled when the release boots. C(same), that pull left the image as it
        was. C(new), it brought a new image (the O(pull_only) call changed something), so the
        release reports the pull and a change even when it finds its container converged.
    type: str
    choices: [none, same, new]
    default: none
  barrier_ready_file:
    description:
      - "A file (relative to the home directory) that the release writes C(open) to once its new
        container is ready, or found converged, before it stops the other versions, and
        C(closed) to when it ends without. The action plugin gives it to a primary-role release
        at the role barrier (O(barrier)) and watches it from the controller, so that the other
        roles boot as soon as the first primary container is ready, as in Kamal."
      - Nothing is written in check mode.
    type: str
  barrier_go_file:
    description:
      - "A file (relative to the home directory) to wait for once the image is pulled as a boot
        would pull it: C(open) boots (without pulling again), C(closed) stops with RV(barrier)
        C(closed) and nothing booted. The action plugin gives it to a release of another role
        at the role barrier (O(barrier)) and writes it once the barrier is set, so that the
        release pulls, waits and boots in one call. The file is removed once read."
      - Ignored in check mode.
    type: str
  barrier_go_timeout:
    description:
      - Seconds to wait for O(barrier_go_file). After them the release stops with RV(barrier)
        C(waiting), the image pulled and nothing else changed, and the action plugin waits at
        the barrier on the controller and boots in a second call.
    type: int
    default: 300
  service:
    description: When set, a pulled image must carry the label C(service) with this value (Kamal's check).
    type: str
  registry:
    description: Registry login for the pull (C(server), C(username), C(password)); never logged.
    type: dict
  spec:
    description:
      - Every non-secret input of the container, as the role builds it. The module stores
        C(sha1) of its JSON (keys sorted, Python's default separators, non-ASCII escaped; the
        same text as Jinja's C(to_json(sort_keys=true))) in the label O(spec_label).
    type: dict
    required: true
  spec_label:
    description: The label that holds the hash of O(spec) on the container.
    type: str
    default: kdeploy.spec
  env_file:
    description: Env file path (relative to the home directory unless absolute), written from O(env_secrets). Defaults to the same key of O(spec); one of the two is required.
    type: str
  env_secrets:
    description:
      - The secret env, C(KEY -> value), in order; written to O(env_file) (mode C(0600)) as Kamal
        does, one C(KEY=value) line each, values escaped like Ruby's C(String#dump). Never logged
        (each value is masked wherever it appears in the result).
    type: dict
    default: {}
  hostname:
    description: The container's hostname. Defaults to the same key of O(spec).
    type: str
  env:
    description: Clear environment variables (C(--env KEY=value)). Defaults to the same key of O(spec), else C({}).
    type: dict
  labels:
    description: Container labels (C(--label key=value)), besides O(spec_label). Defaults to the same key of O(spec), else C({}).
    type: dict
  network:
    description: Network to join. Defaults to the same key of O(spec), else C(kamal).
    type: str
  volumes:
    description: C(--volume) arguments. Defaults to the same key of O(spec), else C([]).
    type: list
    elements: str
  restart_policy:
    description: C(--restart) policy. Defaults to the same key of O(spec), else C(unless-stopped).
    type: str
  log_driver:
    description: C(--log-driver), when set. Defaults to the same key of O(spec).
    type: str
  log_options:
    description: C(--log-opt key=value) arguments. Defaults to the same key of O(spec), else C({}).
    type: dict
  docker_args:
    description: More C(docker run) arguments, from the role's C(options) (Kamal's optionize). Defaults to the same key of O(spec), else C([]).
    type: list
    elements: str
  cmd:
    description: The command, split like a shell splits it (Kamal appends it to C(docker run)). Defaults to the same key of O(spec).
    type: str
  role_labels:
    description: Labels that select this role's containers (service, destination, role), for stopping other versions.
    type: dict
    required: true
  readiness_delay:
    description: Seconds a running container without HEALTHCHECK must stay running.
    type: int
    default: 7
  deploy_timeout:
    description: Seconds to wait for the container to be ready.
    type: int
    default: 30
  stop_timeout:
    description: C(docker stop -t) for the other versions (null leaves Docker's default).
    type: int
  log_lines:
    description: Log lines returned for a container that fails to boot.
    type: int
    default: 20
  latest_tag:
    description: Tag the image with this reference after the boot (C(<repository>:latest[-<dest>])).
    type: str
  retain_containers:
    description: Keep this many stopped containers of O(service) (Kamal's C(prune containers)); null keeps all.
    type: int
  audit:
    description: >-
      Audit log line parts, C({log: path, tags: [performer, destination, role]}) (empty tags are
      left out); lines are C([<utc time>] [<tag>]... <message>), as Kamal writes them.
    type: dict
  proxy:
    description:
      - The role's proxy settings (C(kdeploy_app_roles[role].proxy)); null when the role does not run
        behind the proxy. Keys C(service), C(app_port), C(healthcheck) (C(path), C(interval),
        C(timeout) in seconds), C(deploy_args) (kamal-proxy) and C(route) (caddy).
      - "With it, readiness is the proxy's: kamal-proxy - C(docker exec kamal-proxy kamal-proxy deploy
        SERVICE --target=<12-char id>:<app_port> *deploy_args) (it health-checks and drains itself);
        caddy - an HTTP GET of the health check path on the container's O(network) IP until 2xx
        within O(deploy_timeout), then the route C(@id) is replaced through Caddy's admin API
        (upstream C(<name>:<app_port>)), then the module waits (at most O(stop_timeout) seconds)
        until Caddy has no request in flight to the old upstreams. Only then are the old versions
        stopped. A failure removes the new container and leaves the route as it was."
      - A converged container behind caddy gets its route back when the route points elsewhere.
    type: dict
  proxy_host:
    description: The host's proxy (its C(kdeploy_proxy) var - C(engine), C(container), C(admin_socket)); required with O(proxy).
    type: dict
  files:
    description:
      - Files the proxy reads, written before the container boots (Kamal's app boot uploads them
        first) - a role's TLS certificate and key, the version's error pages. Each has C(path)
        (relative to the home directory), C(content) (never logged), C(mode) and
        C(directory_mode) (octal strings).
      - When one of them changes and the container is converged, kamal-proxy is told again.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file's path, relative to the home directory unless absolute.
        type: str
        required: true
      content:
        description: The file's content (never logged).
        type: str
        required: true
      mode:
        description: The file's mode, an octal string (default C(0644)).
        type: str
      directory_mode:
        description: The mode of a directory created for it, an octal string (default C(0755)).
        type: str
  barrier:
    description:
      - "Kamal's role barrier, kept on the controller by this module's action plugin (never sent
        to the host): C(role) is the role this call boots, C(primary) the primary role. The first
        release of the primary role in the ansible-playbook run to have its new container ready
        opens the barrier, before it stops the old version; the first to fail closes it. A release
        of another role pulls, waits at the barrier before it changes anything else on the host,
        and fails without booting when the barrier is closed."
      - "Over Ansible's ssh connection without become, the plugin passes the signals through
        files on the hosts (O(barrier_ready_file), O(barrier_go_file)) and a second session of
        the connection, so that each host needs one module call. Otherwise the barrier opens
        when the first primary release has returned, and a release of another role pulls in one
        call (O(pull_only)) and boots in a second."
      - Omitted, the release boots at once, unless O(from_inventory) finds the boot play's barrier.
    type: dict
    suboptions:
      role:
        description: The role this call boots.
        type: str
        required: true
      primary:
        description: The primary role, whose first ready (or failed) release opens (or closes) the barrier.
        type: str
        required: true
  from_inventory:
    description:
      - "kdeploy's own plays (C(roles/app/tasks/release.yml), which gives C({})): the action
        plugin builds O(spec), O(registry), O(env_secrets), O(role_labels), O(latest_tag),
        O(audit), O(proxy) and O(files) on the controller from kdeploy's inventory
        (C(kdeploy_app_roles), C(kdeploy_app_env), C(kdeploy_registry), C(kdeploy_error_pages))
        and the secrets in its environment, as the app role's variables would, and never sends
        this option to the host."
      - "The release's plain values come from kdeploy's variables as data, with the role's
        defaults: C(role) from the task var C(kdeploy_slot_roles) (host to role; else
        C(app_role)), C(version) from C(kdeploy_version), C(repository) from C(kdeploy_image),
        O(service) from C(kdeploy_service), C(destination), C(performer), O(readiness_delay),
        O(deploy_timeout), O(stop_timeout) (C(kdeploy_drain_timeout)), O(retain_containers),
        O(docker_host) and O(proxy_host) (C(kdeploy_proxy)) from the C(kdeploy_) variable of that
        name, and O(pull) from C(kdeploy_pull). A key given in this option wins. The role's
        C(app_*) variables are not read."
      - "The barrier, unless O(barrier) is given: the task vars C(kdeploy_barrier_role) and
        C(kdeploy_barrier_group) name the primary role and its group; it holds only while a host
        of that group is among the play's hosts (C(ansible_play_batch))."
      - Fails, naming the host, when the inventory has no entry for the role on the host or a
        variable without a default is not set.
    type: dict
extends_documentation_fragment:
  - kdeploy.deploy.docker_host
attributes:
  action:
    support: full
    details: The action plugin keeps the role barrier (O(barrier)) on the controller and builds the
      arguments of O(from_inventory).
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Non-secret fields only; env files by their keys.
"""

EXAMPLES = r"""
- name: Boot the version.
  kdeploy.deploy.release:
    name: app-web-v2
    image: registry:5000/app:v2
    spec: {format: 2, name: app-web-v2, image: "registry:5000/app:v2"}
    env_file: .kamal/apps/app/env/roles/web.env
    env_secrets:
      SECRET: "{{ lookup('ansible.builtin.env', 'KDEPLOY_SECRET_SECRET') }}"
    role_labels: {service: app, role: web, destination: ""}
"""

RETURN = r"""
converged:
  description: The container already ran with this spec; nothing was booted.
  type: bool
  returned: always
booted:
  description: A new container was started (or, in check mode, would be).
  type: bool
  returned: always
container_id:
  description: The ID of the running container (null in check mode before a boot).
  type: str
  returned: always
renamed:
  description: The name an older container holding O(name) was renamed to, else null.
  type: str
  returned: always
stopped:
  description: Names of the other versions that were stopped.
  type: list
  returned: always
removed:
  description: IDs of the stopped containers removed beyond O(retain_containers).
  type: list
  returned: always
proxy:
  description: >-
    What the proxy step did, C({engine, action, probes, drained}); action is C(deploy) (kamal-proxy),
    C(added)/C(replaced)/C(unchanged) (caddy route), or null without a proxy.
  type: dict
  returned: always
spec_hash:
  description: The hash of O(spec) stored in the label O(spec_label).
  type: str
  returned: always
network_created:
  description: The network O(network) was (or in check mode would be) created.
  type: bool
  returned: always
barrier:
  description: >-
    What O(barrier_go_file) said: C(open) (the release went on), C(closed) (nothing booted), or
    C(waiting) when O(barrier_go_timeout) ran out first (nothing booted).
  type: str
  returned: when O(barrier_go_file) is given, outside check mode
kdeploy_outcome:
  description: >-
    What the release did (or in check mode would do) for kdeploy's summary, C({changes, containers}):
    each change C({kind, name, action, from?, to?, image?}) (the app container created or replaced,
    the image pulled, other versions stopped, old containers removed, the route moved, proxy files
    rewritten), and the role's running containers C({before, after}) as C({name, image, state}).
    Names and images only, never a value.
  type: dict
  returned: always
log:
  description: On failure, the last O(log_lines) lines of the failed container's log.
  type: list
  returned: failure
"""

import binascii
import hashlib
import json
import os
import shlex
import time
from contextlib import suppress

try:
    from urllib.parse import quote
except ImportError:  # Python 2 hosts are not supported by ansible-core 2.19 anyway
    quote = None

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.barrier_signal import (
    CLOSED,
    OPEN,
    SIGNAL_DIR,
    await_signal,
    remove_stale,
    write_signal,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.caddy_admin import (
    health_probe,
    network_ip,
    CaddyAdmin,
    CaddyAdminError,
    route_dials,
    keep_maintenance,
    route_with_upstream,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.defaults import (
    DEPLOY_TIMEOUT,
    DOCKER_NETWORK,
    DRAIN_TIMEOUT,
    HEALTHCHECK_INTERVAL,
    HEALTHCHECK_PATH,
    HEALTHCHECK_TIMEOUT,
    READINESS_DELAY,
    RESTART_POLICY,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.diff import differing, env_file_summary, spec_diff
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerClient, DockerError, ensure_network
from ansible_collections.kdeploy.deploy.plugins.module_utils.env_file import render
from ansible_collections.kdeploy.deploy.plugins.module_utils.host_files import (
    docker_config_path,
    ensure_env_file,
    ensure_file,
    record,
    registry_stored,
    resolve,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.stop import StopRequested, StopSignal, write_note

READY_STATUSES = ("running", "healthy")


class Docker(DockerClient):
    """The client on this host's unix socket: the CLI runs (login, run, logs) need one."""

    def __init__(self, docker_host, timeout=60):
        if not docker_host.startswith("unix://"):
            raise DockerError("kdeploy.deploy.release needs a unix:// docker_host, not %s" % docker_host)
        DockerClient.__init__(self, docker_host, timeout)


def spec_hash(spec):
    """sha1 of the spec's JSON, the same text as the role's former `to_json(sort_keys=true) |
    hash('sha1')`: a different hash would make every running container look stale once."""
    return hashlib.sha1(to_bytes(json.dumps(spec, sort_keys=True))).hexdigest()


def run_argv(params, env_file, hash_value):
    """Kamal's `docker run` argv (lib/kamal/commands/app.rb#run), the spec label added."""
    argv = ["run", "--detach", "--restart", params["restart_policy"], "--name", params["name"],
            "--network", params["network"]]
    if params["hostname"]:
        argv += ["--hostname", params["hostname"]]
    for key, value in params["env"].items():
        argv += ["--env", "%s=%s" % (key, value)]
    argv += ["--env-file", env_file]
    if params["log_driver"]:
        argv += ["--log-driver", params["log_driver"]]
    for key, value in params["log_options"].items():
        argv += ["--log-opt", "%s=%s" % (key, value)]
    for volume in params["volumes"]:
        argv += ["--volume", volume]
    labels = dict(params["labels"])
    labels[params["spec_label"]] = hash_value
    for key, value in labels.items():
        argv += ["--label", "%s=%s" % (key, value)]
    argv += list(params["docker_args"])
    argv.append(params["image"])
    if params["cmd"]:
        argv += shlex.split(params["cmd"])
    return argv


def readiness(container):
    """Kamal's status of a container: its health status when it has a HEALTHCHECK, else its state."""
    state = (container or {}).get("State") or {}
    if state.get("Health"):
        return state["Health"].get("Status") or "starting"
    return state.get("Status") or "gone"


def is_converged(container, image, spec_label, spec_hash):
    """Runs (healthy if it has a health check), carries spec_hash and runs image's current ID."""
    if not container or not image:
        return False
    state = container.get("State") or {}
    labels = (container.get("Config") or {}).get("Labels") or {}
    return (bool(state.get("Running")) and not state.get("Restarting")
            and readiness(container) in READY_STATUSES
            and labels.get(spec_label) == spec_hash and container.get("Image") == image.get("Id"))


def repo_digests(image):
    """The manifest digests a pull recorded for image (RepoDigests, `<repository>@<digest>`)."""
    return set(item.rsplit("@", 1)[-1] for item in (image or {}).get("RepoDigests") or [])


def image_version(image):
    """The tag of an image reference (after the last colon that follows the last slash)."""
    name = (image or "").rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[1] if ":" in name else None


def container_fields(container, params):
    """What --diff shows of a container: only fields that hold no secret.

    Env values never appear (a container's Config.Env holds its env file's secrets). Labels are
    limited to the ones the task sets (the image's own labels are not the task's business).
    """
    if not container:
        return None
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    labels = config.get("Labels") or {}
    fields = dict(
        name=(container.get("Name") or "").lstrip("/") or None,
        image=config.get("Image"),
        version=image_version(config.get("Image")),
        spec_hash=labels.get(params["spec_label"]),
        hostname=config.get("Hostname"),
        network=host.get("NetworkMode"),
        restart_policy=restart_policy_text(host.get("RestartPolicy") or {}),
        volumes=sorted(host.get("Binds") or []),
        labels=dict((key, labels.get(key)) for key in sorted(params["labels"])),
    )
    log_config = host.get("LogConfig") or {}
    if params["log_driver"]:
        fields["log_driver"] = log_config.get("Type")
    if params["log_options"]:
        fields["log_options"] = log_config.get("Config") or {}
    return fields


def restart_policy_text(policy):
    """A HostConfig.RestartPolicy as `docker run --restart` writes it (`on-failure:3`)."""
    name = policy.get("Name")
    retries = policy.get("MaximumRetryCount") or 0
    return "%s:%d" % (name, retries) if name == "on-failure" and retries else name


def wanted_fields(params, hash_value):
    """The same fields as container_fields, for the container the task asks for."""
    fields = dict(
        name=params["name"],
        image=params["image"],
        version=image_version(params["image"]),
        spec_hash=hash_value,
        hostname=params["hostname"],
        network=params["network"],
        restart_policy=params["restart_policy"],
        volumes=sorted(params["volumes"]),
        labels=dict((key, str(value)) for key, value in sorted(params["labels"].items())),
    )
    if params["log_driver"]:
        fields["log_driver"] = params["log_driver"]
    if params["log_options"]:
        fields["log_options"] = dict((key, str(value)) for key, value in params["log_options"].items())
    return fields


# Always in the diff, even when equal: they say which container it is about.
DIFF_ALWAYS = ("name", "image", "version", "spec_hash")


class BootFailed(Exception):
    """The new container did not become ready; carries the log tail."""

    def __init__(self, message, log):
        Exception.__init__(self, message)
        self.log = log


class ProxyStep(object):
    """Register a ready container with the host's proxy (kamal-proxy or caddy), as Kamal's boot does."""

    def __init__(self, release, admin=None, probe_url=health_probe):
        self.release = release
        self.docker = release.docker
        self.params = release.params
        self.proxy = self.params["proxy"]
        host = self.params.get("proxy_host") or {}
        if not host:
            raise DockerError("role %s runs behind the proxy, but this host has no kdeploy_proxy (is it "
                              "in the kdeploy_proxy group?)" % self.params["role_labels"].get("role"))
        self.engine = host.get("engine") or "kamal-proxy"
        self.container = host.get("container") or "kamal-proxy"
        self.probe = probe_url
        self.admin = admin
        if self.engine == "caddy" and admin is None:
            timeout = (self.params["stop_timeout"] or DRAIN_TIMEOUT) + 30
            self.admin = CaddyAdmin(resolve(release.home, host.get("admin_socket")
                                            or ".kdeploy/proxy/admin.sock"), timeout=timeout)
        self.result = dict(engine=self.engine, action=None, probes=[], drained=None)

    def deploy(self, container_id):
        """Make the proxy send the role's traffic to the new container, or raise BootFailed."""
        if self.engine == "caddy":
            self.deploy_caddy(container_id)
        else:
            self.deploy_kamal_proxy(container_id)

    def deploy_kamal_proxy(self, container_id):
        # kamal-proxy health-checks the target, switches and drains the old one before it returns.
        target = "--target=%s:%s" % (container_id[:12], self.proxy["app_port"])
        argv = ["exec", self.container, "kamal-proxy", "deploy", self.proxy["service"], target]
        rc, out, err = self.docker.cli(argv + list(self.proxy.get("deploy_args") or []))
        self.result["action"] = "deploy"
        self.release.switched = rc == 0
        if rc != 0:
            raise BootFailed("kamal-proxy deploy exited %s: %s" % (rc, (err or out).strip()),
                             self.release.log_tail(container_id))

    def deploy_caddy(self, container_id):
        container = self.docker.inspect_container(container_id) or {}
        with self.release.stop.abortable():
            self.wait_healthy(container_id, network_ip(container, self.params["network"]))
        current = self.admin.route(self.proxy["route"]["@id"])
        # By the short id, as Kamal targets kamal-proxy: Docker's DNS on the network resolves it,
        # and unlike the name it never moves to another container (a same-version redeploy
        # renames the old container and gives its name to the new, unready one).
        dial = "%s:%s" % (container_id[:12], self.proxy["app_port"])
        old = [address for address in route_dials(current) if address != dial]
        # A role in maintenance stays in it (kamal-proxy keeps a stopped service stopped).
        wanted = keep_maintenance(current, route_with_upstream(self.proxy["route"], dial))
        self.result["action"] = self.admin.put_route(wanted)
        self.release.switched = True
        # Requests already sent to the old version finish there before it is stopped.
        with self.release.stop.abortable():
            self.result["drained"] = self.admin.wait_drained(old, self.params["stop_timeout"] or DRAIN_TIMEOUT) == 0

    def wait_healthy(self, container_id, address):
        """Kamal-proxy's health check, done here: GET path every interval until 2xx or deploy_timeout."""
        check = self.proxy.get("healthcheck") or {}
        url = "http://%s:%s%s" % (address, self.proxy["app_port"], check.get("path") or HEALTHCHECK_PATH)
        interval = check.get("interval") or HEALTHCHECK_INTERVAL
        timeout = check.get("timeout") or HEALTHCHECK_TIMEOUT
        deadline = time.time() + self.params["deploy_timeout"]
        while True:
            started = time.time()
            healthy, answer = self.probe(url, timeout) if address else (False, "no IP on %s" % self.params["network"])
            self.result["probes"].append(answer)
            if healthy:
                return
            if time.time() >= deadline:
                seen = []
                for item in self.result["probes"]:
                    if item not in seen:
                        seen.append(item)
                raise BootFailed("health check failed for %s seconds (%d probes; %s)"
                                 % (self.params["deploy_timeout"], len(self.result["probes"]),
                                    "; ".join(seen[-3:])), self.release.log_tail(container_id))
            self.release.stop.sleep(min(interval - (time.time() - started), deadline - time.time()))

    def ensure_route(self, container, files_changed=False):
        """Point the proxy at a converged container again when needed.

        Caddy: when the route points elsewhere. kamal-proxy (whose routes kdeploy cannot read):
        when its files (certificates, error pages) changed, so that it reads them again.
        """
        if self.engine != "caddy":
            if not files_changed:
                return False
            if not self.release.module.check_mode:
                self.deploy_kamal_proxy(container["Id"])
            return True
        wanted = route_with_upstream(self.proxy["route"],
                                     "%s:%s" % (container["Id"][:12], self.proxy["app_port"]))
        current = self.admin.route(wanted["@id"])
        wanted = keep_maintenance(current, wanted)
        if current == wanted:
            self.result["action"] = "unchanged"
            return False
        if not self.release.module.check_mode:
            self.result["action"] = self.admin.put_route(wanted)
        return True


# Said by the change itself (from/to) or always different between versions: not listed as fields.
OUTCOME_SKIPPED_FIELDS = ("name", "running", "spec_hash")


def diff_fields(diff):
    """The fields of the --diff (non-secret by construction, env file by its keys) that differ,
    as kdeploy's `{field, before, after}`."""
    before, after = diff.get("before") or {}, diff.get("after") or {}
    return [dict(field=key, before=before.get(key), after=after.get(key))
            for key in differing(before, after) if key not in OUTCOME_SKIPPED_FIELDS]


class Release(object):
    """One release step on this host; `run` returns the module result."""

    def __init__(self, module, docker, stop=None):
        self.module = module
        self.params = module.params
        self.docker = docker
        self.stop = stop or StopSignal()
        self.home = os.path.expanduser("~")
        self.spec_hash = spec_hash(self.params["spec"])
        self.result = dict(changed=False, converged=False, booted=False, container_id=None,
                           renamed=None, stopped=[], removed=[], proxy=None,
                           spec_hash=self.spec_hash, network_created=False)
        self.others = []  # the role's other running containers (docker ps), newest first
        self.running = []  # names of this role's running containers, before the release
        # What an interrupted release tells kdeploy.deploy.settle: the step it was at, what it left.
        self.step = "starting"
        self.switched = False  # traffic (or readiness) moved to the new container
        self.created = None  # the new container, once docker run made it
        self.rerouted = False  # converged, but the proxy's route moves to it
        self.take_prefetched(module.params.get("prefetched") or "none")
        self.proxy = ProxyStep(self) if module.params.get("proxy") else None
        if self.proxy:
            self.result["proxy"] = self.proxy.result
        self.ready_signalled = False

    def take_prefetched(self, prefetched):
        """The image was pulled already (O(prefetched)): the boot pulls no more, and reports it.

        By a pull_only call just before, by this call's own wait at the barrier, or because the
        registry had moved the tag.
        """
        self.pulled = prefetched != "none"
        self.pulled_new = prefetched == "new"

    def signal_ready(self, state):
        """Tell the action plugin watching barrier_ready_file: open (ready) or closed, once."""
        path = self.params.get("barrier_ready_file")
        if not path or self.ready_signalled or self.module.check_mode:
            return
        self.ready_signalled = True
        # A file that cannot be written: the barrier opens when the release ends, as without it.
        with suppress(IOError, OSError):
            write_signal(resolve(self.home, path), state)

    def await_barrier(self):
        """barrier_go_file: pull as the boot would, then wait for the barrier; its state.

        `open`, or `closed`, or None when the wait ran out (RV(barrier) `waiting`).
        """
        self.prefetch()
        # What the action plugin would pass to a second call after a pull_only one.
        self.take_prefetched("new" if self.result["changed"] else "same")
        self.step = "waiting at the role barrier"
        remove_stale(os.path.join(self.home, SIGNAL_DIR))
        state = await_signal(resolve(self.home, self.params["barrier_go_file"]), self.stop.sleep,
                             self.params["barrier_go_timeout"])
        self.result["barrier"] = state or "waiting"
        return state

    def run(self):
        """Boot unless converged, then stop the others, tag latest and prune."""
        params = self.params
        self.stop.check()
        if params.get("pull_only"):
            return self.prefetch()
        waits = params.get("barrier_go_file") and not self.module.check_mode
        if waits and self.await_barrier() != OPEN:
            return self.result
        env_file = resolve(self.home, params["env_file"])
        env_changed = ensure_env_file(env_file, render(params["env_secrets"]), self.module.check_mode)
        files_changed = self.write_files()
        container = self.docker.inspect_container(params["name"])
        image = self.docker.inspect_image(params["image"])
        if container and (container.get("State") or {}).get("Running"):
            self.running.append(params["name"])
        converged = not env_changed and is_converged(
            container, image, params["spec_label"], self.spec_hash)
        if converged and params["pull"] == "always" and not self.pulled and self.tag_moved(image):
            if self.module.check_mode:
                converged = False  # would pull, and replace the container with the new image
            else:
                image = self.pull_moved_tag()
                converged = is_converged(container, image, params["spec_label"], self.spec_hash)
        self.result["converged"] = converged
        if converged:
            self.result["container_id"] = container["Id"]
            if self.pulled_new:
                self.result["changed"] = True
            rerouted = bool(self.proxy) and self.proxy.ensure_route(container, files_changed)
            self.rerouted = rerouted and not files_changed
            if rerouted or files_changed:
                self.result["changed"] = True
        elif self.module.check_mode:
            self.result.update(changed=True, booted=True)
            self.result["network_created"] = ensure_network(self.docker, params["network"], True)[0]
        else:
            self.result.update(changed=True, booted=True)
            self.result["container_id"] = self.boot(env_file, container, image)
        self.switched = True
        self.signal_ready(OPEN)
        self.stop_others()
        self.stop.check()
        self.step = "tagging and pruning"
        self.tag_latest()
        self.prune_containers()
        self.prune_images()
        self.result["diff"] = self.diff(container, converged, env_changed)
        self.result["kdeploy_outcome"] = self.outcome(container, image, files_changed)
        return self.result

    def outcome(self, container, image, files_changed):
        """What the release did or (check mode) would do, as kdeploy's changes (`change` of its
        event schema): the app container created or replaced, the image pulled, other versions
        stopped, old containers removed, the proxy route moved, proxy files rewritten; and the
        role's containers before and after. Names and images only: never a value of the env."""
        params, result = self.params, self.result
        role = (params["role_labels"] or {}).get("role") or params["name"]
        changes = []
        stopped = list(result["stopped"])
        if self.pulled_new or (result["booted"] and (params["pull"] == "always" or image is None)):
            changes.append(dict(kind="image", name=params["image"], action="pull"))
        if result["booted"]:
            if container and (container.get("State") or {}).get("Running"):
                previous = params["name"]  # the same name, another spec or env: replaced
            else:
                previous = stopped.pop(0) if stopped else None
            change = dict(kind="app", name=role, action="replace" if previous else "create",
                          to=params["name"], image=params["image"])
            if previous:
                change["from"] = previous
            if getattr(self.module, "_diff", False):  # --diff: the fields that differ
                change["fields"] = diff_fields(result["diff"])
            changes.append(change)
        elif self.rerouted:
            changes.append(dict(kind="proxy", name=role, action="route", to=params["name"]))
        if result["network_created"]:
            changes.append(dict(kind="network", name=params["network"], action="create"))
        if files_changed:
            changes.append(dict(kind="files", name=role, action="rewrite"))
        changes += [dict(kind="container", name=name, action="stop") for name in stopped]
        changes += [dict(kind="container", name=container_id[:12], action="remove")
                    for container_id in result["removed"]]
        return dict(changes=changes, containers=self.containers_around(container))

    def containers_around(self, container):
        # The role's running containers before the release, and after it (predicted in check mode).
        params = self.params
        before = []
        if container and (container.get("State") or {}).get("Running"):
            image = (container.get("Config") or {}).get("Image") or params["image"]
            before.append(dict(name=params["name"], image=image, state="running"))
        for other in self.others:
            name = (other.get("Names") or [other["Id"]])[0].lstrip("/")
            before.append(dict(name=name, image=other.get("Image") or "", state="running"))
        after = [dict(name=params["name"], image=params["image"], state="running")]
        after += [dict(item, state="exited") for item in before if item["name"] != params["name"]]
        return dict(before=before, after=after)

    def diff(self, container, converged, env_changed):
        """Ansible's --diff: the role's container before (the one named like the new one, else
        the newest other running version, which the new one replaces) and after, the env file's
        keys, and which containers run."""
        params = self.params
        if container is None and self.others:
            container = self.docker.inspect_container(self.others[0]["Id"])
        after = wanted_fields(params, self.spec_hash)
        before = after if converged else container_fields(container, params)
        fields = set(DIFF_ALWAYS) | set(differing(before, after))
        before = dict(before or {})
        after = dict(after)
        after_running = set(self.running) - set(self.result["stopped"])
        after_running.add(params["name"])
        before["running"], after["running"] = sorted(self.running), sorted(after_running)
        path = params["env_file"]
        before["env_file"] = path
        after["env_file"] = path if not env_changed else "%s: %s" % (
            path, env_file_summary(True, params["env_secrets"].keys()))
        if self.result["network_created"]:
            before["network_exists"], after["network_exists"] = False, True
            fields.add("network_exists")
        fields.update(("running", "env_file"))
        return spec_diff(before, after, fields)

    def tag_moved(self, image):
        """Whether the registry's digest for the tag is none of the local image's.

        A deploy always pulls (Kamal's does): for a converged container one request to the
        daemon, which reads the tag's manifest from the registry, stands in for the pull, and
        only a moved tag is pulled. A registry that cannot answer fails the release as the pull
        would have.
        """
        self.step = "asking the registry for %s" % self.params["image"]
        with self.stop.abortable():
            digest = self.docker.registry_digest(self.params["image"], self.registry_auth())
        return digest not in repo_digests(image)

    def prefetch(self):
        """pull_only: pull as a boot would, change nothing else (changed: the image is new)."""
        params = self.params
        image = self.docker.inspect_image(params["image"])
        if self.module.check_mode or (params["pull"] == "missing" and image is not None):
            return self.result
        self.step = "pulling %s" % params["image"]
        with self.stop.abortable():
            self.pull()
        pulled = self.docker.inspect_image(params["image"]) or {}
        self.result["changed"] = image is None or image.get("Id") != pulled.get("Id")
        return self.result

    def pull_moved_tag(self):
        """Pull the tag the registry moved; return the image it names now."""
        self.step = "pulling %s" % self.params["image"]
        with self.stop.abortable():
            self.pull()
        self.stop.check()
        return self.docker.inspect_image(self.params["image"])

    def boot(self, env_file, container, image):
        params = self.params
        if not self.pulled and (params["pull"] == "always" or image is None):
            self.step = "pulling %s" % params["image"]
            with self.stop.abortable():
                self.pull()
        self.stop.check()
        if container is not None:
            self.rename(container)
        # Kamal's deploy creates the network in its proxy boot step (`docker network create kamal`).
        self.result["network_created"] = ensure_network(self.docker, params["network"], False)[0]
        self.step = "booting %s" % params["name"]
        record(params["audit"], self.home, "Booted app version %s" % self.version())
        rc, out, err = self.docker.cli(run_argv(params, env_file, self.spec_hash))
        if rc != 0:
            raise DockerError("docker run %s failed: %s" % (params["name"], (err or out).strip()))
        container_id = out.strip().splitlines()[-1]
        self.created = self.result["container_id"] = container_id
        self.step = "waiting for %s to be ready" % params["name"]
        try:
            if self.proxy:
                self.proxy.deploy(container_id)
            else:
                with self.stop.abortable():
                    self.wait_until_ready(container_id)
        except (BootFailed, CaddyAdminError, StopRequested):
            if self.switched:
                raise  # cut while the old version drains: the new one already serves
            # The route still points at the previous version: only the new container goes.
            self.docker.call("DELETE", "/containers/%s" % container_id, {"force": "1"}, missing_ok=True)
            self.result["container_id"] = None
            raise
        return container_id

    def write_files(self):
        """Write the proxy's files (certificates, error pages); return whether any changed."""
        changed = False
        for item in self.params.get("files") or ():
            changed = ensure_file(resolve(self.home, item["path"]), item["content"],
                                  self.module.check_mode, int(str(item.get("mode") or "0644"), 8),
                                  int(str(item.get("directory_mode") or "0755"), 8)) or changed
        return changed

    def version(self):
        return self.params["image"].rsplit(":", 1)[-1]

    def pull(self):
        params = self.params
        registry = params["registry"]
        if registry and not registry_stored(docker_config_path(), registry.get("server"),
                                            registry["username"], registry["password"]):
            argv = ["login", "--username", registry["username"], "--password-stdin"]
            rc, out, err = self.docker.cli(argv + ([registry["server"]] if registry.get("server") else []),
                                           stdin=registry["password"])
            if rc != 0:
                raise DockerError("docker login %s failed: %s" % (registry.get("server") or "", (err or out).strip()))
        self.docker.pull(params["image"], self.registry_auth())
        self.pulled = True
        if params["service"]:
            image = self.docker.inspect_image(params["image"]) or {}
            label = ((image.get("Config") or {}).get("Labels") or {}).get("service")
            if label != params["service"]:
                raise DockerError("Image %s is missing the label service=%s (has %s): Kamal refuses it"
                                  % (params["image"], params["service"], label))

    def registry_auth(self):
        """The registry credentials for the daemon (X-Registry-Auth), else None."""
        registry = self.params["registry"]
        if not registry:
            return None
        return {"username": registry["username"], "password": registry["password"],
                "serveraddress": registry.get("server") or "https://index.docker.io/v1/"}

    def rename(self, container):
        # Kamal keeps a clashing container under another name (rollback to a stopped version).
        renamed = "%s_replaced_%s" % (self.params["name"], to_native(binascii.hexlify(os.urandom(8))))
        record(self.params["audit"], self.home, "Renaming container %s to %s"
               % (self.version(), renamed[len(self.params["name"]) - len(self.version()):]))
        self.docker.call("POST", "/containers/%s/rename" % container["Id"], {"name": renamed})
        self.result["renamed"] = renamed

    def wait_until_ready(self, container_id):
        """Kamal's poller: ready is running (still, after the readiness delay) or healthy."""
        params = self.params
        deadline = time.time() + params["deploy_timeout"]
        attempt = 1
        while True:
            status = readiness(self.docker.inspect_container(container_id))
            if status == "running" and params["readiness_delay"] > 0:
                self.stop.sleep(params["readiness_delay"])
                status = readiness(self.docker.inspect_container(container_id))
            if status in READY_STATUSES:
                return
            left = deadline - time.time()
            if left <= 0:
                raise BootFailed("container not ready after %s seconds (%s)"
                                 % (params["deploy_timeout"], status), self.log_tail(container_id))
            # Kamal sleeps 1, 2, 3... seconds; a first short poll catches quick starts sooner.
            self.stop.sleep(min(attempt * 0.5, left))
            attempt += 1

    def log_tail(self, container_id):
        rc, out, err = self.docker.cli(["logs", "--tail", str(self.params["log_lines"]), container_id])
        lines = (out + err).splitlines() if rc == 0 else ["(no log: %s)" % err.strip()]
        container = self.docker.inspect_container(container_id) or {}
        health = ((container.get("State") or {}).get("Health") or {}).get("Log") or []
        return lines + ["health check (exit %s): %s" % (entry.get("ExitCode"), (entry.get("Output") or "").strip())
                        for entry in health[-3:]]

    def stop_others(self):
        params = self.params
        keep = self.result["container_id"]
        for other in self.docker.containers(params["role_labels"], ("running", "restarting")):
            if other["Id"] == keep or params["name"] in [n.lstrip("/") for n in other.get("Names") or []]:
                continue
            name = (other.get("Names") or [other["Id"]])[0].lstrip("/")
            self.others.append(other)
            if name != self.result["renamed"]:  # the same container, listed under its old name
                self.running.append(name)
            # A stop already under way finishes (Docker would finish it anyway); no new one starts.
            self.stop.check()
            self.step = "stopping %s" % name
            self.result["stopped"].append(name)
            self.result["changed"] = True
            if not self.module.check_mode:
                query = {"t": params["stop_timeout"]} if params["stop_timeout"] is not None else None
                self.docker.call("POST", "/containers/%s/stop" % other["Id"], query)

    def tag_latest(self):
        params = self.params
        if not params["latest_tag"] or self.module.check_mode:
            return
        image = self.docker.inspect_image(params["image"]) or {}
        latest = self.docker.inspect_image(params["latest_tag"]) or {}
        if image.get("Id") and latest.get("Id") != image["Id"]:
            repo, tag = params["latest_tag"].rsplit(":", 1)
            self.docker.call("POST", "/images/%s/tag" % quote(params["image"], safe="/:@"),
                             {"repo": repo, "tag": tag})
            self.result["changed"] = True

    def prune_containers(self):
        # Kamal's `prune containers`: stopped containers of the service beyond the newest N.
        params = self.params
        if params["retain_containers"] is None or not params["service"]:
            return
        stopped = self.docker.containers({"service": params["service"]}, ("created", "exited", "dead"),
                                         all_states=True)
        for old in stopped[params["retain_containers"]:]:
            self.result["removed"].append(old["Id"])
            self.result["changed"] = True
            if not self.module.check_mode:
                self.docker.call("DELETE", "/containers/%s" % old["Id"], missing_ok=True)


    def prune_images(self):
        # Kamal's `prune images`: dangling images of the service, then tags of the service that
        # no container of the service uses, except latest tags.
        params = self.params
        if params["retain_containers"] is None or not params["service"] or self.module.check_mode:
            return
        label = {"label": ["service=%s" % params["service"]]}
        self.docker.call("POST", "/images/prune", {"filters": json.dumps(dict(label, dangling=["true"]))})
        used = set(container.get("Image") for container in
                   self.docker.containers({"service": params["service"]}, (), all_states=True))
        images = self.docker.call("GET", "/images/json", {"filters": json.dumps(label)}) or []
        for image in images:
            for tag in image.get("RepoTags") or []:
                if tag in used or "latest" in tag or tag == "<none>:<none>":
                    continue
                self.docker.call("DELETE", "/images/%s" % quote(tag, safe="/:@"), missing_ok=True)
                self.result["changed"] = True


ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    image=dict(type="str"),
    pull=dict(type="str", choices=["always", "missing"], default="missing"),
    pull_only=dict(type="bool", default=False),
    prefetched=dict(type="str", choices=["none", "same", "new"], default="none"),
    barrier_ready_file=dict(type="str"),
    barrier_go_file=dict(type="str"),
    barrier_go_timeout=dict(type="int", default=300),
    service=dict(type="str"),
    # Only the password is secret: the server must stay readable in error messages.
    registry=dict(type="dict", options=dict(
        server=dict(type="str"),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
    )),
    spec=dict(type="dict", required=True),
    spec_label=dict(type="str", default="kdeploy.spec"),
    env_file=dict(type="str"),
    # Ansible masks each value wherever it appears in the result (a secret the app prints in
    # its log tail too), so the task that passes them needs no no_log and --diff stays visible.
    env_secrets=dict(type="dict", default={}, no_log=True),
    hostname=dict(type="str"),
    env=dict(type="dict"),
    labels=dict(type="dict"),
    network=dict(type="str"),
    volumes=dict(type="list", elements="str"),
    restart_policy=dict(type="str"),
    log_driver=dict(type="str"),
    log_options=dict(type="dict"),
    docker_args=dict(type="list", elements="str"),
    cmd=dict(type="str"),
    role_labels=dict(type="dict", required=True),
    readiness_delay=dict(type="int", default=READINESS_DELAY),
    deploy_timeout=dict(type="int", default=DEPLOY_TIMEOUT),
    stop_timeout=dict(type="int"),
    log_lines=dict(type="int", default=20),
    latest_tag=dict(type="str"),
    retain_containers=dict(type="int"),
    audit=dict(type="dict"),
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    proxy=dict(type="dict"),
    proxy_host=dict(type="dict"),
    files=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True),
        content=dict(type="str", required=True, no_log=True),
        mode=dict(type="str"),
        directory_mode=dict(type="str"),
    )),
    # Handled by the action plugin on the controller; they never reach the host.
    from_inventory=dict(type="dict"),
    barrier=dict(type="dict", options=dict(
        role=dict(type="str", required=True),
        primary=dict(type="str", required=True),
    )),
)


# The container's inputs the spec holds under the option's own name: a caller may pass the spec
# alone (each value templated once), and the module reads them from it.
SPEC_OPTIONS = ("name", "image", "cmd", "hostname", "env", "env_file", "labels", "network",
                "volumes", "restart_policy", "log_driver", "log_options", "docker_args")
SPEC_FALLBACKS = dict(env={}, labels={}, network=DOCKER_NETWORK, volumes=[],
                      restart_policy=RESTART_POLICY, log_options={}, docker_args=[])


def fill_from_spec(params):
    """Each of SPEC_OPTIONS not given: the spec's value, else its fallback; the missing required."""
    spec = params["spec"] or {}
    for key in SPEC_OPTIONS:
        if params[key] is None:
            params[key] = spec.get(key, SPEC_FALLBACKS.get(key))
    for key in ("env", "labels", "log_options"):
        params[key] = dict((to_native(k), to_native(v)) for k, v in (params[key] or {}).items())
    for key in ("volumes", "docker_args"):
        params[key] = [to_native(item) for item in params[key] or []]
    return [key for key in ("name", "image", "env_file") if not params[key]]


def interrupted_note(release):
    """What an interrupted release left on the host, for kdeploy.deploy.settle's report."""
    params = release.params
    if release.switched:
        left = "%s runs; the other versions were not stopped" % params["name"]
        if release.result["stopped"]:
            left += " (stopped before the cut: %s)" % ", ".join(release.result["stopped"])
    elif release.created:
        left = "%s was removed; the previous version keeps running" % params["name"]
    else:
        left = "nothing was booted"
    return dict(module="kdeploy.deploy.release", role=params["role_labels"].get("role"),
                container=params["name"], step=release.step, left=left)


def main():
    """Run the module."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    missing = fill_from_spec(module.params)
    if missing:
        module.fail_json(msg="missing required arguments (neither given nor in spec): %s"
                             % ", ".join(missing))
    release = Release(module, Docker(module.params["docker_host"]), StopSignal().install())
    try:
        module.exit_json(**release.run())
    except StopRequested:
        note = interrupted_note(release)
        write_note(release.home, note)
        # kdeploy is gone: this answer is most likely never read (the note is).
        module.fail_json(msg="Interrupted while %s: %s" % (note["step"], note["left"]))
    except BootFailed as exc:
        module.fail_json(msg="Failed to boot %s: %s. It was removed; the previous version keeps running. "
                             "Last log lines:\n%s" % (module.params["name"], exc, "\n".join(exc.log) or "(empty)"),
                         log=exc.log)
    except CaddyAdminError as exc:
        module.fail_json(msg="Cannot route the proxy to %s: %s (the route is unchanged; a new "
                             "container was removed)" % (module.params["name"], exc))
    except (DockerError, IOError, OSError) as exc:
        module.fail_json(msg="Cannot boot %s: %s" % (module.params["name"], to_native(exc)))
    finally:
        # Ends the action plugin's watch of a release that never got ready.
        release.signal_ready(CLOSED)


if __name__ == "__main__":
    main()
