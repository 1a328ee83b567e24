"""The proxy step of the release module: kamal-proxy deploy and the caddy probe → switch → drain.

Docker and Caddy are doubles here; test_kdeploy_caddy_admin.py runs the admin client against a
real caddy, and the e2e tests run the whole release on the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playbook_support import load_module_utils, load_plugin
from test_kdeploy_release import PARAMS, SPEC_HASH, FakeDocker, FakeModule

release = load_plugin("release")

ROUTE = {"@id": "kdeploy-app-web", "match": [{"host": ["app.test"]}],
         "handle": [{"handler": "reverse_proxy", "upstreams": []}]}
CADDY_HOST = {"engine": "caddy", "container": "kdeploy-proxy",
              "admin_socket": ".kdeploy/proxy/admin.sock"}
KAMAL_HOST = {"engine": "kamal-proxy", "container": "kamal-proxy", "admin_socket": None}
PROXY = {"service": "app-web", "app_port": 80,
         "healthcheck": {"path": "/up", "interval": 0, "timeout": 1},
         "deploy_args": ["--deploy-timeout=30s", "--drain-timeout=30s",
                         "--log-request-header=Cache-Control"],
         "route": ROUTE}


NEW_ID = "0123456789abcdef0123"


class ProxyDocker(FakeDocker):
    """The release's Docker double, with full argv records and a container IP."""

    def __init__(self, *args: Any, exec_rc: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.argvs: list[list[str]] = []
        self.exec_rc = exec_rc

    def inspect_container(self, name: str) -> Any:
        if name == NEW_ID:
            return {"Id": NEW_ID, "State": {"Status": "running", "Running": True},
                    "NetworkSettings": {"Networks": {"kamal": {"IPAddress": "172.18.0.9"}}}}
        return super().inspect_container(name)

    def cli(self, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        self.argvs.append(list(argv))
        if argv[0] == "run":
            self.calls.append(("cli", "run"))
            return 0, NEW_ID + "\n", ""
        if argv[0] == "exec":
            self.calls.append(("cli", "exec"))
            return self.exec_rc, "", "" if self.exec_rc == 0 else "target failed to become healthy"
        return super().cli(argv, stdin)


class FakeAdmin:
    """Caddy's admin API as a list of routes plus an in-flight count per upstream."""

    def __init__(self, routes: list[dict[str, Any]], in_flight: list[int] | None = None) -> None:
        self.routes = routes
        self.puts: list[dict[str, Any]] = []
        self.waited: list[tuple[list[str], float]] = []
        self.events: list[str] = []

    def route(self, route_id: str) -> Any:
        return next((r for r in self.routes if r["@id"] == route_id), None)

    def put_route(self, route: dict[str, Any]) -> str:
        self.puts.append(route)
        self.events.append("put")
        self.routes = [r for r in self.routes if r["@id"] != route["@id"]] + [route]
        return "replaced"

    def wait_drained(self, dials: list[str], timeout: float) -> int:
        self.waited.append((dials, timeout))
        return 0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _release(docker: Any, host: dict[str, Any] | None, admin: Any = None,
             probe: Any = None, check_mode: bool = False, **changes: Any) -> Any:
    params = {**PARAMS, "proxy": PROXY, "proxy_host": host, **changes}
    run = release.Release.__new__(release.Release)
    # The step is built by Release.__init__; build it with the doubles instead.
    original = release.ProxyStep
    healthy = probe or (lambda url, timeout: (True, url))
    release.ProxyStep = lambda r: original(r, admin=admin, probe_url=healthy)
    try:
        release.Release.__init__(run, FakeModule(params, check_mode), docker)
    finally:
        release.ProxyStep = original
    return run


def _old_running(docker: Any) -> None:
    docker.listed[("running", "restarting")] = [{"Id": "old", "Names": ["/app-web-v1"]}]


def test_kamal_proxy_deploys_the_new_container_by_short_id_then_stops_the_old(home: Path) -> None:
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    _old_running(docker)
    result = _release(docker, KAMAL_HOST).run()
    assert ["exec", "kamal-proxy", "kamal-proxy", "deploy", "app-web", "--target=0123456789ab:80",
            "--deploy-timeout=30s", "--drain-timeout=30s",
            "--log-request-header=Cache-Control"] in docker.argvs
    assert result["proxy"]["action"] == "deploy" and result["stopped"] == ["app-web-v1"]
    # Kamal's order: run → deploy → stop the old version.
    order = [c[:2] for c in docker.calls if c[0] == "cli" or c[1].endswith("/stop")]
    assert order == [("cli", "run"), ("cli", "exec"), ("POST", "/containers/old/stop")]


def test_a_failed_kamal_proxy_deploy_removes_the_new_container(home: Path) -> None:
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}}, exec_rc=1)
    _old_running(docker)
    with pytest.raises(release.BootFailed, match="kamal-proxy deploy exited 1: target failed"):
        _release(docker, KAMAL_HOST).run()
    assert ("DELETE", "/containers/0123456789abcdef0123", "{'force': '1'}") in docker.calls
    assert not any(call[1] == "/containers/old/stop" for call in docker.calls)


def test_caddy_probes_until_healthy_then_switches_drains_and_stops_the_old(home: Path) -> None:
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    _old_running(docker)
    old_route = release.route_with_upstream(ROUTE, "app-web-v1:80")
    admin = FakeAdmin([old_route])
    answers = [(False, "refused"), (False, "HTTP 503"), (True, "HTTP 200")]
    urls: list[str] = []

    def probe(url: str, timeout: float) -> tuple[bool, str]:
        urls.append(url)
        return answers.pop(0)

    result = _release(docker, CADDY_HOST, admin, probe, deploy_timeout=5).run()
    assert urls == ["http://172.18.0.9:80/up"] * 3
    assert admin.puts == [{"@id": "kdeploy-app-web", "match": [{"host": ["app.test"]}],
                           "handle": [{"handler": "reverse_proxy",
                                       "upstreams": [{"dial": "0123456789ab:80"}]}]}]
    assert admin.waited == [(["app-web-v1:80"], 30)]
    assert result["stopped"] == ["app-web-v1"] and result["proxy"]["drained"] is True
    assert result["proxy"]["probes"] == ["refused", "HTTP 503", "HTTP 200"]
    # The role's route template is not modified (it is the inventory's value).
    assert ROUTE["handle"][0]["upstreams"] == []


def test_an_unhealthy_caddy_target_is_removed_and_the_route_untouched(home: Path) -> None:
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    _old_running(docker)
    admin = FakeAdmin([release.route_with_upstream(ROUTE, "app-web-v1:80")])
    with pytest.raises(release.BootFailed, match=r"health check failed .*HTTP 404") as info:
        _release(docker, CADDY_HOST, admin, lambda u, t: (False, u + ": HTTP 404")).run()
    assert info.value.log[:2] == ["line 1", "line 2"]
    assert admin.puts == []
    assert ("DELETE", "/containers/0123456789abcdef0123", "{'force': '1'}") in docker.calls
    assert not any(call[1] == "/containers/old/stop" for call in docker.calls)


def _converged(docker_cls: Any = ProxyDocker) -> Any:
    container = {"Id": "c1", "Name": "/app-web-v2", "Image": "sha256:1",
                 "State": {"Running": True, "Status": "running"},
                 "Config": {"Labels": {"kdeploy.spec": SPEC_HASH}}}
    return docker_cls({"app-web-v2": container}, {"reg:5000/app:v2": {"Id": "sha256:1"},
                                                  "reg:5000/app:latest": {"Id": "sha256:1"}})


def _env(home: Path) -> None:
    env = home / ".kamal/apps/app/env/roles/web.env"
    env.parent.mkdir(parents=True)
    env.write_text("SECRET=x\n")
    env.chmod(0o600)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_converged_container_gets_its_caddy_route_back(home: Path, check_mode: bool) -> None:
    _env(home)
    admin = FakeAdmin([release.route_with_upstream(ROUTE, "app-web-v1:80")])
    result = _release(_converged(), CADDY_HOST, admin, check_mode=check_mode).run()
    assert result["converged"] and result["changed"]
    wanted = release.route_with_upstream(ROUTE, "c1:80")  # the container's short id
    assert admin.puts == ([] if check_mode else [wanted])


def test_a_converged_container_with_its_route_changes_nothing(home: Path) -> None:
    _env(home)
    admin = FakeAdmin([release.route_with_upstream(ROUTE, "c1:80")])
    result = _release(_converged(), CADDY_HOST, admin).run()
    assert result["converged"] and not result["changed"] and admin.puts == []
    assert result["proxy"]["action"] == "unchanged"


def test_check_mode_boots_nothing_and_touches_no_route(home: Path) -> None:
    docker = ProxyDocker({}, {})
    admin = FakeAdmin([])
    result = _release(docker, CADDY_HOST, admin, check_mode=True).run()
    assert result["changed"] and result["booted"] and admin.puts == [] and docker.argvs == []


def test_a_proxy_role_on_a_host_without_a_proxy_is_an_error(home: Path) -> None:
    with pytest.raises(release.DockerError, match="has no kdeploy_proxy"):
        _release(ProxyDocker({}, {}), None)


def test_route_with_upstream_fills_nested_reverse_proxies() -> None:
    route = {"@id": "x", "handle": [{"handler": "subroute", "routes": [
        {"handle": [{"handler": "headers"}, {"handler": "reverse_proxy", "upstreams": []}]}]}]}
    filled = release.route_with_upstream(route, "c:3000")
    assert filled["handle"][0]["routes"][0]["handle"][1]["upstreams"] == [{"dial": "c:3000"}]
    assert route["handle"][0]["routes"][0]["handle"][1]["upstreams"] == []


def test_probe_ignores_the_environment_proxy_and_reports_refusals(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    healthy, answer = release.health_probe("http://127.0.0.1:1/up", 1)
    assert not healthy and answer.startswith("http://127.0.0.1:1/up: ")
    assert "refused" in answer.lower()


CERTIFICATE = {"path": ".kamal/proxy/apps-config/app/tls/web/cert.pem", "content": "CERT\n",
               "mode": "0644"}
PAGE = {"path": ".kamal/proxy/apps-config/app/error_pages/v2/404.html", "content": "<p>gone</p>",
        "mode": "0700", "directory_mode": "0700"}


def test_the_proxy_files_are_written_before_the_boot_with_their_modes(home: Path) -> None:
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    _release(docker, KAMAL_HOST, files=[CERTIFICATE, PAGE]).run()
    certificate, page = home / CERTIFICATE["path"], home / PAGE["path"]
    assert certificate.read_text() == "CERT\n" and page.read_text() == "<p>gone</p>"
    assert (certificate.stat().st_mode & 0o777, page.stat().st_mode & 0o777,
            page.parent.stat().st_mode & 0o777) == (0o644, 0o700, 0o700)


def test_changed_files_tell_kamal_proxy_again_about_a_converged_container(home: Path) -> None:
    _env(home)
    docker = _converged()
    first = _release(docker, KAMAL_HOST, files=[CERTIFICATE]).run()
    assert first["converged"] and first["changed"]
    assert ["exec", "kamal-proxy", "kamal-proxy", "deploy", "app-web", "--target=c1:80",
            *PROXY["deploy_args"]] in docker.argvs
    docker.argvs.clear()
    again = _release(docker, KAMAL_HOST, files=[CERTIFICATE]).run()
    assert not again["changed"] and docker.argvs == []


def test_check_mode_writes_no_proxy_file(home: Path) -> None:
    docker = ProxyDocker({}, {})
    result = _release(docker, KAMAL_HOST, check_mode=True, files=[CERTIFICATE]).run()
    assert result["changed"] and not (home / CERTIFICATE["path"]).exists()


def test_a_deploy_keeps_a_caddy_route_in_maintenance(home: Path) -> None:
    # kamal-proxy keeps a stopped service stopped across deploys; the Caddy route does the same.
    docker = ProxyDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    _old_running(docker)
    utils = load_module_utils("caddy_admin")
    page = utils.maintenance_handler("Back soon")
    stopped = utils.route_in_maintenance(release.route_with_upstream(ROUTE, "app-web-v1:80"), page)
    admin = FakeAdmin([stopped])
    result = _release(docker, CADDY_HOST, admin).run()
    assert admin.puts == [{"@id": "kdeploy-app-web", "match": [{"host": ["app.test"]}],
                           "handle": [page, {"handler": "reverse_proxy",
                                             "upstreams": [{"dial": "0123456789ab:80"}]}]}]
    assert result["stopped"] == ["app-web-v1"]


def test_a_converged_container_in_maintenance_stays_there(home: Path) -> None:
    _env(home)
    utils = load_module_utils("caddy_admin")
    stopped = utils.route_in_maintenance(release.route_with_upstream(ROUTE, "c1:80"),
                                         utils.maintenance_handler(None))
    admin = FakeAdmin([stopped])
    result = _release(_converged(), CADDY_HOST, admin).run()
    assert not result["changed"] and admin.puts == []
