"""kdeploy.deploy.docker_network: its module against a stub daemon, its action plugin in a real run.

The module (plugins/modules/docker_network.py) talks to a stub daemon over a unix socket. The
action plugin (plugins/action/docker_network.py), which answers a ready host with one shell
command, runs in the real ansible-playbook on this machine (`-c local`) with a fake docker CLI.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kdeploy.deploy.plugins.action import docker_network as action
from fake_docker import FakeDocker, fake_docker  # noqa: F401  (the fixture)
from playbook_support import PLUGINS, REPO, collections_dir, load_plugin, require_tool

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
    # The module and the action plugin both return network_result (module_utils).
    assert network.network_result("kamal", changed, None)["kdeploy_outcome"] == {"changes": changes}


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


# -- the action plugin: a ready host answered by one shell command --------------------------------

INSPECT = '[{"Name": "%s", "Id": "n1", "Driver": "bridge"}]'
# What a case's task names and how the fake docker answers it (prefixes of its argv).
CASES = {
    # The network is there: read, not created, and no module run (its socket does not exist).
    "exists": ("kamal", False, {"docker network inspect kamal": (0, INSPECT % "kamal")}),
    # Not there, and the daemon answers: created, then read by the id `create` printed.
    "missing": ("kd-missing", False, {"docker network inspect kd-missing": (1, ""),
                                      "docker network create kd-missing": (0, "n1\n"),
                                      "docker network inspect n1": (0, INSPECT % "kd-missing")}),
    "check": ("kd-check", True, {"docker network inspect kd-check": (1, "")}),
    # A name is data: quoted for the shell, it reaches docker as one argument.
    "quoted": ("kd; touch $HOME/pwned", False, {"docker network inspect": (0, INSPECT % "kd")}),
    # No daemon answers the CLI: the module runs and says why (its docker_state).
    "no-daemon": ("kd-down", False, {"docker network": (1, "")}),
}


def network_task(case: str, name: str, check: bool, environment: dict[str, str]) -> dict[str, Any]:
    """One case's task: the module's socket does not exist, so only the shell command can pass."""
    return {"name": case, "kdeploy.deploy.docker_network": {
        "name": name, "docker_host": "unix://{{ missing_socket }}", "timeout": 5},
        "check_mode": check, "register": case.replace("-", "_"), "ignore_errors": True,
        "environment": environment}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case as a task of one play (a result each), then the cases without the fast path."""
    tmp_path = tmp_path_factory.mktemp("docker_network_action")
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    monkeypatch = pytest.MonkeyPatch()
    fake = FakeDocker(fakebin, monkeypatch)
    (tmp_path / "fake" / "requests").mkdir(parents=True)
    (tmp_path / "fake" / "requests" / "__init__.py").write_text("")
    tasks = [network_task(case, name, check, {"PYTHONPATH": "{{ fake_requests }}",
                                              "FAKE_DOCKER_ANSWERS": json.dumps(answers)})
             for case, (name, check, answers) in CASES.items()]
    # Without requests for the host's Python the module runs, and asks the daemon first.
    tasks.append(network_task("no-requests", "kd-nr", False, {}))
    tasks.append({"name": "results", "ansible.builtin.copy": {
        "dest": str(tmp_path / "results.json"), "mode": "0600",
        "content": "{{ {" + ", ".join(f"'{case}': {case.replace('-', '_')}"
                                       for case in [*CASES, "no-requests"]) + "} | to_json }}"}})
    play = [{"name": "network", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    extra = {"ansible_python_interpreter": sys.executable, "fake_requests": str(tmp_path / "fake"),
             "missing_socket": str(tmp_path / "no-daemon.sock")}
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home),
           "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections")),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp"), "ANSIBLE_NOCOLOR": "1"}
    try:
        result = subprocess.run(
            [require_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", "-vvv",
             "-e", json.dumps(extra), "play.yml"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    finally:
        monkeypatch.undo()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return {"results": json.loads((tmp_path / "results.json").read_text()),
            "calls": fake.calls(), "home": home, "stdout": result.stdout}


def test_a_ready_host_with_the_network_reads_it_and_runs_no_module(
        quick_run: dict[str, Any]) -> None:
    result = quick_run["results"]["exists"]
    assert (result["changed"], result["kdeploy_outcome"]) == (False, {"changes": []})
    assert result["network"] == {"Name": "kamal", "Id": "n1", "Driver": "bridge"}
    assert result["diff"] == {"before": {"driver": "bridge", "name": "kamal"},
                              "after": {"driver": "bridge", "name": "kamal"}}
    assert ["docker", "network", "create", "kamal"] not in quick_run["calls"]
    # The module's socket does not exist: its run would have failed (see no-daemon).
    assert "docker_state" not in result


def test_a_missing_network_is_created_and_reported(quick_run: dict[str, Any]) -> None:
    result = quick_run["results"]["missing"]
    assert ["docker", "network", "create", "kd-missing"] in quick_run["calls"]
    assert result["changed"] is True
    assert result["kdeploy_outcome"] == {"changes": [
        {"kind": "network", "name": "kd-missing", "action": "create"}]}
    assert result["network"]["Name"] == "kd-missing"
    assert result["diff"]["before"] == {"driver": None, "name": None}


def test_check_mode_creates_nothing_and_says_it_would(quick_run: dict[str, Any]) -> None:
    result = quick_run["results"]["check"]
    assert ["docker", "network", "inspect", "kd-check"] in quick_run["calls"]
    assert ["docker", "network", "create", "kd-check"] not in quick_run["calls"]
    assert (result["changed"], result["network"]) == (True, None)
    assert result["kdeploy_outcome"]["changes"][0]["action"] == "create"


def test_the_name_reaches_docker_as_one_argument(quick_run: dict[str, Any]) -> None:
    name = "kd; touch $HOME/pwned"
    assert ["docker", "network", "inspect", name] in quick_run["calls"]
    assert quick_run["results"]["quoted"]["changed"] is False
    assert not (quick_run["home"] / "pwned").exists()


def test_a_daemon_that_does_not_answer_leaves_the_explanation_to_the_module(
        quick_run: dict[str, Any]) -> None:
    result = quick_run["results"]["no-daemon"]
    assert result["failed"] is True
    assert result["docker_state"] in ("stopped", "missing")
    assert "cannot reach Docker" in result["msg"]
    assert ["docker", "network", "create", "kd-down"] not in quick_run["calls"]


def test_a_python_without_requests_leaves_it_to_the_module(quick_run: dict[str, Any]) -> None:
    # This venv has no requests: the command stops before docker, and the module (which asks
    # the daemon first, here a missing socket) answers.
    result = quick_run["results"]["no-requests"]
    assert result["failed"] is True and "docker_state" in result
    assert [argv for argv in quick_run["calls"] if "kd-nr" in argv] == []
    assert "AnsiballZ_docker_network.py" in quick_run["stdout"]


@pytest.mark.parametrize(("rc", "stdout", "expected"), [
    (0, "exists\n" + INSPECT % "kamal", (False, {"Name": "kamal", "Id": "n1", "Driver": "bridge"})),
    (0, "created\n" + INSPECT % "kamal", (True, {"Name": "kamal", "Id": "n1", "Driver": "bridge"})),
    (0, "absent\n", (True, None)),
    # Created but not read back: it was created all the same, and says so.
    (0, "created\nnot json", (True, None)),
    # Found but not read, an answer of another shape, a failed step: the module runs instead.
    (0, "exists\nnot json", None),
    (0, "exists\n[]", None),
    (0, "something else\n", None),
    (1, "exists\n" + INSPECT % "kamal", None),
])
def test_the_commands_answer_becomes_the_modules_result_or_none(
        rc: int, stdout: str, expected: tuple[bool, Any] | None) -> None:
    result = action.quick_result("kamal", rc, stdout)
    if expected is None:
        assert result is None
    else:
        assert result == network.network_result("kamal", *expected)
