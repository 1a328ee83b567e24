"""HTTP to the Docker daemon over its unix socket, with the standard library only.

The transport of docker_api (the modules' Docker client) and of caddy_admin.
Importing requests and community.docker's vendored client costs about as much as the rest of a
module run, and a plain unix socket is what almost every host uses. The roles that use it link
this file into their own module_utils/, so each role works on its own.
"""

from __future__ import annotations

import json
import socket
from http.client import HTTPConnection


class UnixSocketConnection(HTTPConnection):
    """HTTP over the daemon's unix socket."""

    def __init__(self, path, timeout):
        HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        """Connect to the unix socket instead of a TCP address."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def docker_request(path, timeout, method, url, body=None, headers=None):
    """Send one request to the daemon at the unix socket `path`; return (status, body bytes).

    `body`, when given, is sent as JSON; `headers` are added (X-Registry-Auth for a pull).
    Raises OSError when the daemon cannot be reached.
    """
    connection = UnixSocketConnection(path, timeout)
    try:
        headers = dict(headers or {}, Host="docker")
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        connection.request(method, url, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
