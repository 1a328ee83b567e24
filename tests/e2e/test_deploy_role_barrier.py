"""Kamal's role barrier on the sandbox: the other roles boot once the first primary-role
container is up, before its old version is stopped and long before the primary role is done
everywhere; a failed one stops them.

Roles `web` (hosts 1-2, primary) and `job` (host 3), `proxy: false`, one boot group.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import helpers
import pytest
from app_state import assert_runs
from project import Project, address, app_container, audit_lines, example_config

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

# A container of role web that ignores SIGTERM: a release on its host stops it as one of the
# role's other versions, after the new one is ready, which takes the whole drain_timeout.
STUBBORN = "kdeploy-demo-web-stubborn"
DRAIN_TIMEOUT = 10


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(clean_sandbox)
    config.pop("accessories")
    config["drain_timeout"] = DRAIN_TIMEOUT
    return Project.write(tmp_path, config)


def _moment(info: SandboxInfo, index: int, name: str, field: str) -> datetime:
    # Docker's RFC 3339 times with up to nine fraction digits; the hosts share one clock.
    text = helpers.ssh(info, index, f"docker inspect -f '{{{{{field}}}}}' {name}").stdout.strip()
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?Z", text)
    assert match, text
    moment = datetime.fromisoformat(match[1]).replace(tzinfo=UTC)
    return moment.replace(microsecond=int((match[2] or "0")[:6].ljust(6, "0")))


def test_other_roles_boot_once_the_first_primary_container_is_up(clean_sandbox: SandboxInfo,
                                                                 project: Project) -> None:
    info = clean_sandbox
    assert (run := project.kdeploy("setup", "-P", "--version", "v1")).returncode == 0, run
    # Each web release will wait DRAIN_TIMEOUT seconds for its stubborn container to stop.
    for index in (1, 2):
        helpers.ssh(info, index, f"docker run -d --name {STUBBORN} --label service={SERVICE} "
                                 "--label role=web --label destination= "
                                 f"{info.registry}/{SERVICE}:v1 sh -c 'trap \"\" TERM; "
                                 "while true; do sleep 1; done'")

    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    assert_runs(info, "v2")
    first_web_up = min(_moment(info, index, app_container("web", "v2"), ".State.StartedAt")
                       for index in (1, 2))
    job_created = _moment(info, 3, app_container("job", "v2"), ".Created")
    first_stubborn_stopped = min(_moment(info, index, STUBBORN, ".State.FinishedAt")
                                 for index in (1, 2))
    # After the first web container, before any web release was done (one that opened the
    # barrier when it ended would have created it after a stubborn container stopped).
    assert first_web_up < job_created < first_stubborn_stopped, (
        first_web_up, job_created, first_stubborn_stopped)
    # The barrier's signal files on the hosts are read and gone.
    for index in (1, 2, 3):
        left = helpers.ssh(info, index, "ls -A ~/.kdeploy/barrier 2>/dev/null || true").stdout
        assert left.split() == [], (index, left)


def test_a_failed_first_primary_container_stops_the_other_roles(clean_sandbox: SandboxInfo,
                                                               project: Project) -> None:
    info = clean_sandbox
    project.config["deploy_timeout"] = 5
    project.save()
    assert (run := project.kdeploy("setup", "-P", "--version", "v2")).returncode == 0, run

    run = project.kdeploy("deploy", "-P", "--version", "v3-unhealthy")
    assert run.returncode == 1, run
    job_host = address(info, 3)
    assert (f"{job_host}  FAILED: First web container is unhealthy, not booting job on "
            f"{job_host}") in run.output
    # The barrier closed before host 3 was touched: no boot, nothing recorded, v2 runs on.
    assert not any("v3" in line for line in audit_lines(info, 3))
    assert not [c.name for c in helpers.containers(info, 3) if "v3" in c.name]
    assert_runs(info, "v2")
    assert "Traceback" not in run.output
