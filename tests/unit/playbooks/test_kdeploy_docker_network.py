"""The kdeploy_docker_network module (roles/kdeploy_docker/library) against a stub daemon."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from playbook_support import REPO, load_role_module

MODULE_PATH = REPO / "roles" / "kdeploy_docker" / "library" / "kdeploy_docker_network.py"


network = load_role_module("kdeploy_docker", "kdeploy_docker_network")


class DaemonStub(BaseHTTPRequestHandler):
    """Knows the networks in server.networks; creates one on POST /networks/create."""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))  # type: ignore[attr-defined]
        name = self.path.removeprefix("/networks/")
        known = self.server.networks  # type: ignore[attr-defined]
        if name in known:
            self._answer(200, {"Name": name, "Id": known[name]})
        else:
            self._answer(404, {"message": f"network {name} not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(("POST", self.path, body))  # type: ignore[attr-defined]
        self.server.networks[body["Name"]] = "n1"  # type: ignore[attr-defined]
        self._answer(201, {"Id": "n1"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, socketserver.UnixStreamServer]]:
    path = str(tmp_path / "docker.sock")
    server = socketserver.UnixStreamServer(path, DaemonStub)
    server.networks = {}  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield path, server
    server.shutdown()
    server.server_close()


def test_missing_network_is_created_then_left_alone(
    daemon: tuple[str, socketserver.UnixStreamServer],
) -> None:
    path, server = daemon
    assert network.ensure_network(path, 5, "kamal", check_mode=False) == (
        True, {"Name": "kamal", "Id": "n1"})
    assert network.ensure_network(path, 5, "kamal", check_mode=False) == (
        False, {"Name": "kamal", "Id": "n1"})
    assert server.requests == [  # type: ignore[attr-defined]
        ("GET", "/networks/kamal"),
        ("POST", "/networks/create", {"Name": "kamal", "CheckDuplicate": True}),
        ("GET", "/networks/kamal"),
        ("GET", "/networks/kamal"),
    ]


def test_check_mode_creates_nothing(daemon: tuple[str, socketserver.UnixStreamServer]) -> None:
    path, server = daemon
    assert network.ensure_network(path, 5, "kamal", check_mode=True) == (True, None)
    assert server.networks == {}  # type: ignore[attr-defined]


def test_unreachable_daemon_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        network.ensure_network(str(tmp_path / "none.sock"), 1, "kamal", check_mode=False)


def test_requests_message_is_the_one_kdeploy_docker_reads() -> None:
    vars_file = (REPO / "roles" / "kdeploy_docker" / "vars" / "main.yml").read_text()
    assert "required Python library (requests)" in network.REQUESTS_MISSING
    assert "'required Python library (requests)'" in vars_file
