"""A proxy image whose Caddy is too old for the caddy engine is named before a deploy (issue 16).

Debian's Caddy 2.6 rejects kdeploy's config (`trusted_proxies_unix`, `trusted_proxies_strict`)
and restarts forever; all a user saw was "cannot reach Caddy's admin socket". Here each web host
has a stand-in image whose `caddy version` says v2.6.2: the deploy stops before the lock, naming
the image, the host, the version found and the minimum, and nothing runs on the hosts.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest
from project import Project, address
from test_proxy_zero_downtime import WEB, proxy_project_config

from kdeploy.host_contract.caddy import MINIMUM_VERSION
from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

OLD_CADDY = "v2.6.2 h1:Wh7qbs3Wb3pGBqcEAQ0iwiWDLh4Sc0oDnQ9AZS38NUk="


def _stand_in(info: SandboxInfo, index: int, image: str) -> None:
    """`image` on the host: the demo app's busybox image with a `caddy` that is Caddy 2.6.2."""
    script = f'#!/bin/sh\\n[ "$1" = version ] && echo {OLD_CADDY} && exit 0\\nexit 1\\n'
    helpers.ssh(info, index, " && ".join([
        f"docker pull -q {info.registry}/kdeploy-demo:v1 >/dev/null",
        f"printf '{script}' > /tmp/caddy && chmod 755 /tmp/caddy",
        f"c=$(docker create {info.registry}/kdeploy-demo:v1)",
        "docker cp /tmp/caddy $c:/bin/caddy",
        f"docker commit $c {image} >/dev/null",
        "docker rm $c >/dev/null"]))


def test_a_too_old_caddy_is_refused_before_the_deploy(clean_sandbox: SandboxInfo,
                                                      tmp_path: Path) -> None:
    info = clean_sandbox
    image = f"{info.registry}/kdeploy-old-caddy:2.6.2"
    for index in WEB:
        _stand_in(info, index, image)
    config = proxy_project_config(info)
    config["x-kdeploy"]["proxy"]["image"] = image
    project = Project.write(tmp_path, config)

    run = project.kdeploy("deploy", "-P", "--version", "v1")
    assert run.returncode == 1, run
    assert "Traceback" not in run.output
    for index in WEB:
        assert (f"The proxy image {image} on {address(info, index)} has Caddy 2.6.2, but the "
                f"caddy engine needs Caddy {MINIMUM_VERSION} or newer") in run.output
    assert "pin a newer image in x-kdeploy/proxy/image" in run.output
    assert "admin socket" not in run.output
    # Nothing started anywhere, and the lock was never taken.
    for host in info.hosts:
        assert [c.name for c in helpers.containers(info, host)] == [], host
    lock = helpers.ssh(info, 1, "ls -d .kamal/lock-* 2>/dev/null || true").stdout
    assert lock.strip() == ""
