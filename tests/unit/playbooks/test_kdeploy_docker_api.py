"""The modules' Docker client (plugins/module_utils/docker_api.py): a unix socket, else
community.docker's client."""

from __future__ import annotations

import ast
import base64
import errno
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.community.docker.plugins.module_utils._api.errors import (
    DockerException,
    NotFound,
)
from playbook_support import PLUGINS, StubDaemon, load_module_utils, serve_unix

API_PATH = PLUGINS / "module_utils" / "docker_api.py"
api = load_module_utils("docker_api")
REMOTE_PATH = PLUGINS / "module_utils" / "docker_remote.py"
remote = load_module_utils("docker_remote")


class DockerStub(StubDaemon):
    """A daemon that knows one container, fails on "broken" and answers 404 for anything else."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/events?"):
            self.answer(200, b'{"Action": "kill"}\nnot json\n{"Action": "die"}\n')
        elif self.path.startswith("/containers/app-web-v1/json"):
            self.answer(200, json.dumps({"Id": "c1"}).encode())
        elif self.path.startswith("/distribution/"):
            # The registry's answer through the daemon; the credentials it was given, recorded.
            self.server.paths.append(self.headers.get("X-Registry-Auth"))  # type: ignore[attr-defined]
            answers = {
                "/distribution/reg:5000/app:v1/json": (200, {"Descriptor": {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": "sha256:d1", "size": 856}, "Platforms": []}),
                "/distribution/reg:5000/app:gone/json": (401, {
                    "message": "unauthorized: authentication required"}),
            }
            status, answer = answers.get(self.path, (200, {"Platforms": []}))
            self.answer(status, json.dumps(answer).encode())
        elif self.path.startswith("/containers/broken/json"):
            self.answer(500, json.dumps({"message": "daemon is sad"}).encode())
        else:
            self.answer(404, json.dumps({"message": "No such container"}).encode())


@pytest.fixture
def docker_socket(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    path = tmp_path / "docker.sock"
    with serve_unix(path, DockerStub) as paths:
        yield str(path), paths


# -- a unix socket, with the standard library -----------------------------------------------------


def test_unix_socket_client_reads_json_and_tells_404(docker_socket: tuple[str, list[str]]) -> None:
    path, paths = docker_socket
    client = api.DockerClient("unix://" + path, 5)
    assert client.get_json("/containers/{0}/json", "app-web-v1") == {"Id": "c1"}
    with pytest.raises(api.DockerNotFound):
        client.get_json("/images/{0}/json", "10.0.0.1:5000/app:v1")
    with pytest.raises(api.DockerNotFound):
        client.get_json("/containers/json", params={"filters": '{"label": ["a=b"]}'})
    assert paths == [
        "/containers/app-web-v1/json",
        "/images/10.0.0.1:5000/app:v1/json",
        "/containers/json?filters=%7B%22label%22%3A+%5B%22a%3Db%22%5D%7D",
    ]


def test_unix_socket_client_says_where_it_could_not_connect(tmp_path: Path) -> None:
    with pytest.raises(api.DockerError, match=r"unix://.*nothing\.sock"):
        api.DockerClient("unix://" + str(tmp_path / "nothing.sock"), 1).get_json("/version")


def test_an_unreachable_daemon_keeps_the_sockets_own_error(tmp_path: Path) -> None:
    # The docker_network module reads its errno to tell a stopped daemon from a closed socket.
    client = api.DockerClient("unix://" + str(tmp_path / "nothing.sock"), 1)
    with pytest.raises(api.DockerError) as error:
        client.request("GET", "/version")
    assert error.value.status is None
    assert isinstance(error.value.__cause__, OSError)
    assert error.value.__cause__.errno == errno.ENOENT


def test_call_tells_a_missing_object_from_an_error_answer(
        docker_socket: tuple[str, list[str]]) -> None:
    path, _ = docker_socket
    client = api.DockerClient("unix://" + path, 5)
    assert client.inspect_container("app-web-v1") == {"Id": "c1"}
    assert client.inspect_container("app-web-v0") is None
    with pytest.raises(api.DockerError) as error:
        client.inspect_container("broken")
    assert str(error.value) == "Docker answered 500 to GET /containers/broken/json: daemon is sad"
    assert error.value.status == 500
    assert not isinstance(error.value, api.DockerNotFound)


def test_get_json_says_what_the_daemon_answered(docker_socket: tuple[str, list[str]]) -> None:
    path, _ = docker_socket
    with pytest.raises(api.DockerError, match=r"^Docker answered 500 to GET /containers/broken"):
        api.DockerClient("unix://" + path, 5).get_json("/containers/{0}/json", "broken")


def test_events_are_the_json_lines_of_the_answer(docker_socket: tuple[str, list[str]]) -> None:
    path, paths = docker_socket
    events = api.DockerClient("unix://" + path, 5).events(10.0, 12.5, {"type": ["container"]})
    assert events == [{"Action": "kill"}, {"Action": "die"}]
    assert paths == ["/events?since=10.000&until=12.500&filters=%7B%22type%22%3A+%5B%22container"
                     "%22%5D%7D"]


def test_the_registry_digest_is_one_request_with_the_credentials(
        docker_socket: tuple[str, list[str]]) -> None:
    path, paths = docker_socket
    client = api.DockerClient("unix://" + path, 5)
    auth = {"username": "u", "password": "p", "serveraddress": "reg:5000"}
    assert client.registry_digest("reg:5000/app:v1", auth) == "sha256:d1"
    assert paths[0] == "/distribution/reg:5000/app:v1/json"
    assert json.loads(base64.urlsafe_b64decode(paths[1])) == auth
    # Without credentials no header at all (an anonymous registry), as for a pull.
    assert client.registry_digest("reg:5000/app:v1") == "sha256:d1"
    assert paths[3] is None


def test_a_registry_that_cannot_say_is_an_error_naming_the_image(
        docker_socket: tuple[str, list[str]]) -> None:
    path, _ = docker_socket
    client = api.DockerClient("unix://" + path, 5)
    with pytest.raises(api.DockerError) as error:
        client.registry_digest("reg:5000/app:gone")
    assert str(error.value) == ("cannot read the registry's digest of reg:5000/app:gone: "
                                "unauthorized: authentication required")
    assert error.value.status == 401
    with pytest.raises(api.DockerError, match=r"of reg:5000/app:odd: the daemon answered \{"):
        client.registry_digest("reg:5000/app:odd")


def test_docker_error_bodies_give_their_message() -> None:
    assert api.error_message(b'{"message":"manifest unknown"}\n') == "manifest unknown"
    assert api.error_message(b"plain text\n") == "plain text"


# -- any other daemon: community.docker's client (stubbed) ----------------------------------------

COMMON_API = "ansible_collections.community.docker.plugins.module_utils.common_api"


class StubApiClient:
    """Stands in for community.docker's AnsibleDockerClientBase and records what it is sent."""

    root = "https://10.0.0.9:2376/v1.41"

    def __init__(self) -> None:
        self.params = self._get_params()
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def _get_params(self) -> dict[str, Any]:
        raise AssertionError("the client must read the module's parameters")

    def _url(self, pathfmt: str, *args: str) -> str:
        return self.root + pathfmt.format(*args)

    def _get(self, url: str, **kwargs: Any) -> types.SimpleNamespace:
        self.sent.append(("GET", url, kwargs))
        return types.SimpleNamespace(status_code=200, content=b'{"Id": "c1"}')

    def _post(self, url: str, **kwargs: Any) -> types.SimpleNamespace:
        self.sent.append(("POST", url, kwargs))
        return types.SimpleNamespace(status_code=201, content=b'{"Id": "n1"}')

    def get_json(self, pathfmt: str, *args: str, **kwargs: Any) -> Any:
        if "missing" in args:
            raise NotFound("no such container: missing")
        if "broken" in args:
            raise DockerException("TLS handshake failed")
        return {"Id": args[0]}


@pytest.fixture
def stub_community(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType(COMMON_API)
    module.AnsibleDockerClientBase = StubApiClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, COMMON_API, module)


class FakeModule:
    """The AnsibleModule parts community.docker's client uses."""

    def __init__(self, **params: Any) -> None:
        self.params = {"tls": False, "validate_certs": False, **params}

    def fail_json(self, **kwargs: Any) -> None:
        raise AssertionError(kwargs)


@pytest.mark.usefixtures("stub_community")
def test_a_tcp_daemon_goes_through_community_docker() -> None:
    client = api.DockerClient("tcp://10.0.0.9:2376", 5,
                              remote.CommunityDocker(FakeModule(tls=True)))
    assert client.socket_path is None
    assert client.call("POST", "/networks/create", body={"Name": "kamal"}) == {"Id": "n1"}
    assert client.get_json("/containers/{0}/json", "app-web-v1") == {"Id": "app-web-v1"}
    with pytest.raises(api.DockerNotFound):
        client.get_json("/containers/{0}/json", "missing")
    with pytest.raises(api.DockerError, match="TLS handshake failed"):
        client.get_json("/containers/{0}/json", "broken")
    assert client.remote.api().sent == [
        ("POST", "https://10.0.0.9:2376/v1.41/networks/create",
         {"data": '{"Name": "kamal"}', "headers": {"Content-Type": "application/json"},
          "timeout": 5}),
    ]


@pytest.mark.usefixtures("stub_community")
def test_tls_on_a_unix_socket_is_community_dockers_to_honour() -> None:
    client = api.DockerClient("unix:///var/run/docker.sock", 5,
                              remote.CommunityDocker(FakeModule(tls=True)))
    assert client.socket_path is None
    assert client.request("GET", "/version") == (200, b'{"Id": "c1"}')


def test_without_the_modules_parameters_only_a_socket_is_reached() -> None:
    with pytest.raises(api.DockerError, match="only a unix:// socket"):
        api.DockerClient("tcp://10.0.0.9:2375", 5).request("GET", "/version")


def test_community_docker_stays_out_of_the_payloads_that_never_use_it() -> None:
    # AnsiballZ ships every module_utils file a module imports, even from inside a function: only
    # container_state and accessory_boot (which take community.docker's parameters), through
    # container_prep, may reach the remote client.
    imports = [ast.unparse(node) for node in ast.walk(ast.parse(API_PATH.read_text()))
               if isinstance(node, ast.Import | ast.ImportFrom)]
    assert not [line for line in imports if "community" in line or "docker_remote" in line]
    utils = sorted(path.stem for path in (PLUGINS / "module_utils").glob("*.py")
                   if "module_utils.docker_remote" in path.read_text())
    assert utils == ["container_prep"]
    importers = sorted(path.name for path in (PLUGINS / "modules").glob("*.py")
                       if any(f"module_utils.{name}" in path.read_text()
                              for name in ["docker_remote", *utils]))
    assert importers == ["accessory_boot.py", "container_state.py"]


def test_the_remote_client_imports_community_docker_only_when_used() -> None:
    # Importing it and requests at load would cost about 0.3 s on hosts that have a unix socket.
    tree = ast.parse(REMOTE_PATH.read_text())
    top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert not [node for node in top_level if "community" in ast.unparse(node)]
    nested = [ast.unparse(node) for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node not in top_level]
    assert any("community.docker" in line for line in nested)
