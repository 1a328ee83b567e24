"""The docker_network module (plugins/modules/docker_network.py) against a stub daemon."""

from __future__ import annotations

import errno
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from playbook_support import PLUGINS, REPO, load_plugin

MODULE_PATH = PLUGINS / "modules" / "docker_network.py"


network = load_plugin("docker_network")


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
    vars_file = (REPO / "roles" / "bootstrap" / "vars" / "main.yml").read_text()
    assert "required Python library (requests)" in network.REQUESTS_MISSING
    assert "'required Python library (requests)'" in vars_file


# -- a daemon that does not answer: stopped, denied, missing ------------------------------------


def refused_socket(tmp_path: Path) -> str:
    """A socket file nobody listens on: what a killed dockerd leaves behind."""
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.close()
    return path


def connection_error(path: str) -> OSError:
    with pytest.raises(OSError) as error:
        network.inspect_network(path, 1, "kamal")
    return error.value


def test_a_missing_socket_is_said_to_be_missing(tmp_path: Path) -> None:
    path = str(tmp_path / "docker.sock")
    assert network.socket_state(path, connection_error(path)) == (
        "stopped", "is missing (no Docker daemon has created it)")


def test_a_socket_nobody_listens_on_refuses_connections(tmp_path: Path) -> None:
    path = refused_socket(tmp_path)
    assert network.socket_state(path, connection_error(path)) == (
        "stopped", "refuses connections (no Docker daemon listens on it)")


def test_a_plain_file_is_not_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.write_text("")
    assert network.socket_state(str(path), connection_error(str(path)))[1] == "is not a socket"


def test_a_socket_closed_to_the_user_is_denied(tmp_path: Path) -> None:
    # The tests run as root, whom no mode keeps out: the error is the one a user would get.
    path = refused_socket(tmp_path)
    denied = PermissionError(errno.EACCES, "Permission denied")
    assert network.socket_state(path, denied) == (
        "denied", "is not open to this user (permission denied)")


@pytest.mark.parametrize(("programs", "state"), [
    (["/usr/bin/dockerd", "/usr/bin/docker"], "stopped"),
    (["/usr/bin/docker"], "stopped"),  # a client alone counts, as `docker -v` does for Kamal
    ([], "missing"),
])
def test_only_a_host_without_docker_programs_is_missing(
        tmp_path: Path, programs: list[str], state: str) -> None:
    path = str(tmp_path / "docker.sock")
    result = network.unreachable(path, connection_error(path), programs)
    assert (result["docker_state"], result["docker_programs"]) == (state, programs)
    assert result["msg"].startswith(f"Error connecting: cannot reach Docker at unix://{path}: ")


def test_docker_programs_are_the_daemon_and_the_client() -> None:
    found = {"dockerd": "/usr/sbin/dockerd", "docker": None}
    assert network.docker_programs(found.get) == ["/usr/sbin/dockerd"]


def run_module(capsys: pytest.CaptureFixture[str], path: str) -> dict[str, Any]:
    with patch_module_args({"name": "kamal", "docker_host": f"unix://{path}", "timeout": 2}), \
            pytest.raises(SystemExit):
        network.main()
    return json.loads(capsys.readouterr().out)


def test_a_stopped_daemon_is_reported_before_a_missing_requests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Without requests the old order said "requests missing", and the role installed packages.
    monkeypatch.setattr(network, "find_spec", lambda name: None)
    monkeypatch.setattr(AnsibleModule, "get_bin_path",
                        lambda self, name, **kwargs: f"/usr/bin/{name}")
    result = run_module(capsys, refused_socket(tmp_path))
    assert result["failed"] is True
    assert result["docker_state"] == "stopped"
    assert result["docker_programs"] == ["/usr/bin/dockerd", "/usr/bin/docker"]
    assert result["docker_socket"] == "refuses connections (no Docker daemon listens on it)"
    assert "requests" not in result["msg"]


def test_a_running_daemon_without_requests_asks_for_requests_and_creates_nothing(
        daemon: tuple[str, socketserver.UnixStreamServer], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, server = daemon
    monkeypatch.setattr(network, "find_spec", lambda name: None)
    result = run_module(capsys, path)
    assert "required Python library (requests)" in result["msg"]
    assert "docker_state" not in result
    assert server.networks == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("changed", "changes"), [
    (True, [{"kind": "network", "name": "kamal", "action": "create"}]),
    (False, []),
])
def test_the_result_carries_the_bootstrap_outcome(changed: bool, changes: list[Any]) -> None:
    # The bootstrap role has no report task on the usual path: the controller reads this.
    assert network.network_outcome("kamal", changed) == {"changes": changes}


def test_a_created_network_is_reported_in_the_module_result(
        daemon: tuple[str, socketserver.UnixStreamServer], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = daemon
    # The host's requests library (this venv has none): only its presence is checked.
    monkeypatch.setattr(network, "find_spec", lambda name: object())
    created, again = run_module(capsys, path), run_module(capsys, path)
    assert created["kdeploy_outcome"]["changes"] == [
        {"kind": "network", "name": "kamal", "action": "create"}]
    assert (again["changed"], again["kdeploy_outcome"]) == (False, {"changes": []})
