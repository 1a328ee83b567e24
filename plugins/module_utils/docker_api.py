"""The Docker Engine API for kdeploy's modules: one client, one error type.

A daemon on a plain unix socket (what almost every host uses) is reached with the standard
library, through docker_socket. Any other daemon (tcp, ssh, TLS) goes through the
`remote` a module passes in (docker_remote: community.docker's client). This file never
imports community.docker: Ansible ships every module_utils file a module imports, so only the
module that takes community.docker's parameters carries it. Each module still decides which
daemons it accepts. The roles whose modules use this file link it into their own module_utils/,
so each role works on its own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from urllib.parse import quote, urlencode

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_socket import docker_request


class DockerError(Exception):
    """The daemon could not be reached or answered an error.

    When no daemon answered, `__cause__` is the transport's own error: its errno tells a stopped
    daemon from a socket closed to this user.

    Attributes:
        status: The HTTP status of an error answer; None when no daemon answered.
    """

    def __init__(self, message, status=None):
        Exception.__init__(self, message)
        self.status = status


class DockerNotFound(DockerError):
    """The API answered 404 (no such container or image): DockerError's one special case."""


def error_message(body):
    """The `message` of a Docker API error body, else the body itself."""
    try:
        return json.loads(to_native(body))["message"]
    except (ValueError, KeyError, TypeError):
        return to_native(body).strip()


def registry_auth_header(auth):
    """The X-Registry-Auth header of a pull or a registry request for auth, else None."""
    if not auth:
        return None
    return {"X-Registry-Auth": to_native(base64.urlsafe_b64encode(to_bytes(json.dumps(auth))))}


class DockerClient(object):
    """The Docker Engine API at docker_host, plus the docker CLI pointed at the same daemon.

    Args:
        docker_host: The daemon's URL (unix://, tcp://, ssh://).
        timeout: Seconds to wait for an answer.
        remote: What reaches a daemon that is not a plain unix socket: an object with
            `tls`, `request(method, url, body, headers, timeout)` and `get_json(...)`
            (docker_remote.CommunityDocker); None: only a unix socket is reached.
    """

    def __init__(self, docker_host, timeout=60, remote=None):
        self.docker_host = docker_host
        self.timeout = timeout
        self.remote = remote
        # TLS asked for on a unix socket is community.docker's to honour, so it goes there too.
        tls = remote is not None and remote.tls
        self.socket_path = None
        if docker_host.startswith("unix://") and not tls:
            self.socket_path = docker_host[len("unix://"):]

    def request(self, method, url, body=None, headers=None, timeout=None):
        """Send one request (url from the API root, query included); return (status, body bytes).

        `body`, when given, is sent as JSON; `headers` are added (X-Registry-Auth for a pull).
        Raises DockerError when no daemon answers.
        """
        timeout = self.timeout if timeout is None else timeout
        try:
            if self.socket_path is not None:
                return docker_request(self.socket_path, timeout, method, url, body, headers)
            return self._remote().request(method, url, body, headers, timeout)
        except (IOError, OSError) as exc:
            raise DockerError("cannot reach Docker at %s: %s"
                              % (self.docker_host, to_native(exc))) from exc

    def call(self, method, url, params=None, missing_ok=False, body=None, headers=None):
        """One API call; the decoded JSON (None for an empty body or a 404 with missing_ok)."""
        if params:
            url += "?" + urlencode(params)
        status, answer = self.request(method, url, body, headers)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise DockerError("Docker answered %s to %s %s: %s"
                              % (status, method, url, error_message(answer)), status)
        return json.loads(to_native(answer)) if answer.strip() else None

    def get_json(self, pathfmt, *args, **kwargs):
        """GET pathfmt (args quoted into it, params as the query); return the decoded JSON.

        Raises DockerNotFound for a 404 and DockerError for any other error answer.
        """
        if self.socket_path is None:
            return self._remote().get_json(pathfmt, *args, **kwargs)
        url = pathfmt.format(*[quote(arg, safe="/:") for arg in args])
        if kwargs.get("params"):
            url += "?" + urlencode(kwargs["params"])
        status, body = self.request("GET", url)
        if status == 404:
            raise DockerNotFound(url, status)
        if status >= 400:
            raise DockerError("Docker answered %s to GET %s: %s"
                              % (status, url, to_native(body)), status)
        return json.loads(to_native(body))

    def pull(self, image, auth=None):
        """`docker pull` through the API (no CLI process).

        Args:
            image: repository:tag.
            auth: {username, password, serveraddress} for a private registry, else None.
        """
        repository, tag = image.rsplit(":", 1)
        headers = registry_auth_header(auth)
        url = "/images/create?" + urlencode({"fromImage": repository, "tag": tag})
        status, body = self.request("POST", url, None, headers, timeout=max(self.timeout, 600))
        # The daemon streams progress as JSON lines; a failure mid-pull is an "error" line.
        errors = [error_message(body)] if status >= 400 else []
        for line in to_native(body).splitlines() if status < 400 else []:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("error"):
                errors.append(event["error"])
        if errors:
            raise DockerError("docker pull %s failed: %s" % (image, errors[-1]))

    def registry_digest(self, image, auth=None):
        """The digest the registry holds for image's tag, without a pull.

        The Engine API's `GET /distribution/{name}/json`: the daemon resolves the tag at the
        registry (a manifest HEAD, then a GET of that manifest, and of a single-platform image's
        small config blob for its platform); no layer moves. The digest is the manifest's, or the
        index's for a multi-platform image: the one a pull by that tag records in RepoDigests.

        Args:
            image: repository:tag.
            auth: {username, password, serveraddress} for a private registry, else None.

        Raises:
            DockerError: the registry could not be asked (unreachable, credentials refused, no
                such tag), with the daemon's message.
        """
        url = "/distribution/%s/json" % quote(image, safe="/:@")
        status, body = self.request("GET", url, None, registry_auth_header(auth))
        if status >= 400:
            raise DockerError("cannot read the registry's digest of %s: %s"
                              % (image, error_message(body)), status)
        try:
            digest = (json.loads(to_native(body)).get("Descriptor") or {}).get("digest")
        except (ValueError, AttributeError):
            digest = None
        if not digest:
            raise DockerError("cannot read the registry's digest of %s: the daemon answered %s"
                              % (image, to_native(body).strip()[:200]))
        return digest

    def events(self, since, until, filters):
        """The daemon's events between two times (seconds) matching filters; [] on an error."""
        params = {"since": "%.3f" % since, "until": "%.3f" % until, "filters": json.dumps(filters)}
        status, body = self.request("GET", "/events?" + urlencode(params))
        if status >= 400:
            return []
        events = []
        for line in body.decode("utf-8", "replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def inspect_container(self, name):
        """The container's inspect data, or None."""
        return self.call("GET", "/containers/%s/json" % quote(name, safe=""), missing_ok=True)

    def inspect_image(self, image):
        """The image's inspect data, or None."""
        return self.call("GET", "/images/%s/json" % quote(image, safe="/:@"), missing_ok=True)

    def containers(self, labels, statuses, all_states=False):
        """Containers with every label in labels and one of statuses, newest first."""
        filters = {"label": ["%s=%s" % item for item in sorted(labels.items())]}
        if statuses:
            filters["status"] = list(statuses)
        params = {"filters": json.dumps(filters)}
        if all_states:
            params["all"] = "1"
        return self.call("GET", "/containers/json", params) or []

    def cli(self, argv, stdin=None):
        """Run the docker CLI against this daemon; return (rc, stdout, stderr) as text."""
        env = dict(os.environ, DOCKER_HOST=self.docker_host)
        process = subprocess.Popen(["docker", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env)
        out, err = process.communicate(to_bytes(stdin) if stdin is not None else None)
        return process.returncode, to_native(out), to_native(err)

    def _remote(self):
        if self.remote is None:
            raise DockerError("cannot reach Docker at %s: only a unix:// socket is reached "
                              "without the module's community.docker parameters"
                              % self.docker_host)
        return self.remote


def create_network(client, name, check_mode):
    """Kamal's `docker network create <name>` (bootstrap and deploy).

    Returns the new network's inspect data; None in check mode (nothing is sent then).
    """
    if check_mode:
        return None
    client.call("POST", "/networks/create", body={"Name": name, "CheckDuplicate": True})
    return client.call("GET", "/networks/%s" % quote(name, safe=""), missing_ok=True)


def ensure_network(client, name, check_mode):
    """Create the network unless it exists; return (changed, inspect data or None).

    Creating a missing network is not a repair: Kamal creates it too, before its first container.
    """
    network = client.call("GET", "/networks/%s" % quote(name, safe=""), missing_ok=True)
    if network is not None:
        return False, network
    return True, create_network(client, name, check_mode)
