"""The proxy_route module's Docker read (plugins/modules/proxy_route.py): the container's IP.

The e2e caddy tests run the whole module; here the one Docker call is pinned, including the
error main reports when no daemon answers.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playbook_support import StubDaemon, load_plugin, serve_unix

route = load_plugin("proxy_route")


class ContainerStub(StubDaemon):
    """Knows app-web-v1, on the kamal network at 172.18.0.5; 404 for anything else."""

    def do_GET(self) -> None:
        found = self.path == "/containers/app-web-v1/json"
        self.answer(200 if found else 404, json.dumps(
            {"NetworkSettings": {"Networks": {"kamal": {"IPAddress": "172.18.0.5"}}}}
            if found else {"message": "No such container"}).encode())


@pytest.fixture
def docker_host(tmp_path: Path) -> Iterator[str]:
    with serve_unix(tmp_path / "docker.sock", ContainerStub):
        yield "unix://" + str(tmp_path / "docker.sock")


def test_the_containers_ip_on_the_network(docker_host: str) -> None:
    assert route.container_ip(docker_host, "app-web-v1", "kamal") == "172.18.0.5"
    assert route.container_ip(docker_host, "app-web-v1", "other") == ""
    assert route.container_ip(docker_host, "app-web-v0", "kamal") == ""


def test_no_daemon_raises_the_sockets_own_error(tmp_path: Path) -> None:
    # main reports it as "Cannot change the proxy route <id>: <error>".
    with pytest.raises(OSError) as error:
        route.container_ip("unix://" + str(tmp_path / "nothing.sock"), "app-web-v1", "kamal")
    assert error.value.errno == errno.ENOENT
    assert str(error.value) == "[Errno 2] No such file or directory"
