#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Add or delete one role's route in the host's Caddy (kdeploy's caddy proxy engine)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: proxy_route
short_description: Point a role's Caddy route at a container, delete it, or put it in maintenance
description:
  - The caddy engine's side of Kamal's C(app start) (C(kamal-proxy deploy)) and C(app stop) /
    C(app remove) (C(kamal-proxy remove)), through Caddy's admin API on its unix socket.
  - C(present) waits until the container answers the health check path with 2xx on its O(network)
    IP (at most O(timeout) seconds), then puts the route (upstream C(<container>:<app_port>)).
    A container that does not get healthy fails the task and leaves the route as it was.
  - C(absent) deletes the route with the route's C(@id); a missing route is no change.
  - C(maintenance) is kamal-proxy's C(stop) (Kamal's C(app maintenance)) - the route answers 503 with
    kamal-proxy's page and O(message) before its own handlers, then the task waits (at most
    O(drain_timeout) seconds) for the requests in flight to its upstreams. C(live) is C(resume) - the
    503 handler goes. Both are no change when the route is already so; a missing route fails
    (kamal-proxy has no such service). C(present) keeps a route in maintenance in maintenance.
  - In check mode only reads the route (no health check, nothing put or deleted). With C(--diff),
    the route's upstreams before and after (the route holds only addresses, nothing secret).
version_added: "0.1.0"
author: kdeploy
options:
  state:
    description: C(present) puts the route, C(absent) deletes it, C(maintenance) and C(live) switch its 503.
    type: str
    choices: [present, absent, maintenance, live]
    default: present
  admin_socket:
    description: Caddy's admin socket, relative to the home directory unless absolute.
    type: str
    required: true
  proxy:
    description: The role's proxy settings (C(kdeploy_app_roles[role].proxy)) - C(route), C(app_port), C(healthcheck).
    type: dict
    required: true
  container:
    description: The container the route sends requests to (name); required for C(present).
    type: str
  network:
    description: The network whose IP the health check uses.
    type: str
    default: kamal
  timeout:
    description: Seconds to wait for a healthy container.
    type: int
    default: 30
  message:
    description: C(maintenance) - the message of the 503 page (kamal-proxy's default text when empty).
    type: str
  drain_timeout:
    description: C(maintenance) - seconds to wait for the requests in flight to finish.
    type: float
    default: 30
extends_documentation_fragment:
  - kdeploy.deploy.docker_host
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The route's C(@id) and upstream dial addresses, before and after.
"""

EXAMPLES = r"""
- name: Route the role to its running container.
  kdeploy.deploy.proxy_route:
    admin_socket: .kdeploy/proxy/admin.sock
    proxy: "{{ kdeploy_app_roles.web.proxy }}"
    container: app-web-v2
"""

RETURN = r"""
outcome:
  description: C(added), C(replaced), C(unchanged), C(deleted), C(absent), C(maintenance) or C(live).
  type: str
  returned: always
"""

import json
import os
import time

try:
    from urllib.parse import quote
except ImportError:  # Python 2 hosts are not supported by ansible-core 2.19 anyway
    quote = None

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.caddy_admin import (
    CaddyAdmin,
    CaddyAdminError,
    health_probe,
    keep_maintenance,
    maintenance_handler,
    maintenance_of,
    network_ip,
    route_dials,
    route_in_maintenance,
    route_live,
    route_with_upstream,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.defaults import (
    DEPLOY_TIMEOUT,
    DOCKER_NETWORK,
    DRAIN_TIMEOUT,
    HEALTHCHECK_INTERVAL,
    HEALTHCHECK_PATH,
    HEALTHCHECK_TIMEOUT,
)
from ansible_collections.kdeploy.deploy.plugins.module_utils.diff import spec_diff
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import DockerClient, DockerError


def container_ip(docker_host, name, network):
    """The container's IP on network, read from the Docker API ("" when it has none).

    Raises the socket's own OSError when no daemon answers, which main reports.
    """
    # Only a unix socket is read here: the path after the scheme, as this module always did.
    client = DockerClient("unix://" + docker_host[len("unix://"):], 10)
    try:
        status, body = client.request("GET", "/containers/%s/json" % quote(name, safe=""))
    except DockerError as exc:
        raise exc.__cause__ from None
    return "" if status >= 400 else network_ip(json.loads(to_native(body)), network)


def wait_healthy(params):
    """Probe the container's health check path until 2xx or the timeout; return the last answer."""
    proxy = params["proxy"]
    check = proxy.get("healthcheck") or {}
    deadline = time.time() + params["timeout"]
    while True:
        address = container_ip(params["docker_host"], params["container"], params["network"])
        url = "http://%s:%s%s" % (address, proxy["app_port"], check.get("path") or HEALTHCHECK_PATH)
        ok, answer = health_probe(url, check.get("timeout") or HEALTHCHECK_TIMEOUT) if address else (False, "no IP yet")
        if ok or time.time() >= deadline:
            return ok, answer
        time.sleep(check.get("interval") or HEALTHCHECK_INTERVAL)


ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent", "maintenance", "live"], default="present"),
    admin_socket=dict(type="str", required=True),
    proxy=dict(type="dict", required=True),
    container=dict(type="str"),
    network=dict(type="str", default=DOCKER_NETWORK),
    timeout=dict(type="int", default=DEPLOY_TIMEOUT),
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    message=dict(type="str"),
    drain_timeout=dict(type="float", default=DRAIN_TIMEOUT),
)


def route_diff(route_id, current, wanted):
    """Before/after for --diff: the route's upstreams (None for a route that is not there)."""
    def state(route):
        return None if route is None else dict(route=route_id, upstreams=route_dials(route))
    return spec_diff(state(current), state(wanted), ("route", "upstreams"))


def switch_maintenance(module, admin, route_id):
    """Put the route into maintenance or back live (kamal-proxy's stop and resume); exits."""
    params = module.params
    current = admin.route(route_id)
    if current is None:
        module.fail_json(msg="The proxy has no route %s: deploy the role first" % route_id)
    if params["state"] == "maintenance":
        wanted = route_in_maintenance(current, maintenance_handler(params["message"]))
    else:
        wanted = route_live(current)
    diff = spec_diff(dict(route=route_id, maintenance=maintenance_of(current) is not None),
                     dict(route=route_id, maintenance=maintenance_of(wanted) is not None),
                     ("route", "maintenance"))
    if wanted == current:
        module.exit_json(changed=False, outcome="unchanged", diff=diff)
    if not module.check_mode:
        admin.put_route(wanted)
        if params["state"] == "maintenance":
            # kamal-proxy stop drains before it returns: the requests in flight finish first.
            admin.wait_drained(route_dials(current), params["drain_timeout"])
    module.exit_json(changed=True, outcome=params["state"], diff=diff)


def main():
    """Run the module."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=[("state", "present", ["container"])],
                           supports_check_mode=True)
    params = module.params
    path = params["admin_socket"]
    admin = CaddyAdmin(path if os.path.isabs(path) else os.path.join(os.path.expanduser("~"), path))
    route = params["proxy"]["route"]
    try:
        if params["state"] == "absent":
            current = admin.route(route["@id"])
            present = current is not None
            if present and not module.check_mode:
                admin.delete_route(route["@id"])
            module.exit_json(changed=present, outcome="deleted" if present else "absent",
                             diff=route_diff(route["@id"], current, None))
        if params["state"] in ("maintenance", "live"):
            switch_maintenance(module, admin, route["@id"])
        current = admin.route(route["@id"])
        wanted = keep_maintenance(current, route_with_upstream(
            route, "%s:%s" % (params["container"], params["proxy"]["app_port"])))
        diff = route_diff(route["@id"], current, wanted)
        if current == wanted:
            module.exit_json(changed=False, outcome="unchanged", diff=diff)
        if module.check_mode:
            module.exit_json(changed=True, outcome="replaced", diff=diff)
        ok, answer = wait_healthy(params)
        if not ok:
            module.fail_json(msg="%s did not get healthy within %s seconds (%s); the route is unchanged"
                                 % (params["container"], params["timeout"], answer))
        module.exit_json(changed=True, outcome=admin.put_route(wanted), diff=diff)
    except (CaddyAdminError, IOError, OSError, ValueError) as exc:
        module.fail_json(msg="Cannot change the proxy route %s: %s" % (route["@id"], to_native(exc)))


if __name__ == "__main__":
    main()
