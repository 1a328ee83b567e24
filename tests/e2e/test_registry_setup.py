"""`kdeploy registry setup|remove` on real hosts, beside Kamal's own on a twin host.

With a registry that is not local, Kamal 2.11's setup is the login and remove the logout, on
this machine and on every filtered host: the docker logins on the hosts must end up alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import pytest
from project import Project, Run, address, example_config

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

KAMAL_VERSION = ("--version", "v1")


def assert_ok(run: Run) -> None:
    """The run exited 0 without a traceback."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run


def docker_auths(info: SandboxInfo, index: int) -> dict:
    """The `auths` of ~/.docker/config.json on host `index` ({} without the file)."""
    out = helpers.ssh(info, index, "cat ~/.docker/config.json 2>/dev/null || echo '{}'").stdout
    return json.loads(out).get("auths", {})


def test_registry_setup_and_remove_log_the_hosts_in_and_out_like_kamal(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    try:
        for index in (1, 2, 3):
            helpers.ssh(info, index, f"docker logout {info.registry} >/dev/null 2>&1")
        assert_ok(project.kdeploy("registry", "setup", "-L", "-r", "web"))
        assert_ok(project.kamal("registry", "setup", "-L", "-r", "job", *KAMAL_VERSION))
        auth = docker_auths(info, 1)
        assert set(auth) == {info.registry}
        assert docker_auths(info, 2) == docker_auths(info, 3) == auth

        assert_ok(project.kdeploy("registry", "remove", "-L", "-h", address(info, 1)))
        assert_ok(project.kamal("registry", "remove", "-L", "-h", address(info, 2),
                                *KAMAL_VERSION))
        assert docker_auths(info, 1) == docker_auths(info, 2) == {}
        assert docker_auths(info, 3) == auth
    finally:
        # Other tests pull with or without a login: leave the hosts logged in, as setup does.
        project.kdeploy("registry", "login", "-L", "-q")
