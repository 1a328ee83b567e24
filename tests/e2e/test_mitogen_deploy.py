"""Setup and deploy with mitogen on (x-kdeploy/mitogen, KDEPLOY_MITOGEN=1) on real hosts.

Mitogen is an optional extra (`pip install 'kdeploy[mitogen]'`): without it these tests skip.
Under mitogen the plays run as mitogen_free/mitogen_linear, `raw` (the lock) needs the hosts'
Python, and the result on the hosts must be exactly what a plain run leaves.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from project import Project, app_container, example_config, lock_dirs, running_names

from kdeploy.sandbox import SandboxInfo

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(importlib.util.find_spec("ansible_mitogen") is None,
                       reason="mitogen is not installed (pip install 'kdeploy[mitogen]')"),
    pytest.mark.usefixtures("clean_sandbox"),
]

KAMAL_VERSION = ("--version", "v1")


def _running(info: SandboxInfo) -> dict[int, set[str]]:
    return {index: running_names(info, index) for index in (1, 2, 3)}


def test_setup_and_deploy_with_mitogen(clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info) | {"x-kdeploy": {"mitogen": True}})
    setup = project.kdeploy("setup", "-P", "--version", "v1", "-q")
    assert setup.returncode == 0, setup
    assert _running(info) == {1: {app_container("web"), "kdeploy-demo-db"},
                              2: {app_container("web")}, 3: {app_container("job")}}

    deploy = project.kdeploy("deploy", "-P", "--version", "v2", "-q")
    assert deploy.returncode == 0, deploy
    assert "Traceback" not in deploy.output, deploy
    assert _running(info) == {1: {app_container("web", "v2"), "kdeploy-demo-db"},
                              2: {app_container("web", "v2")}, 3: {app_container("job", "v2")}}
    assert lock_dirs(info, 1) == []
    # Kamal takes over from a mitogen deploy as from any other: same containers, same lock.
    back = project.kamal("deploy", "-P", "--version", "v1", "-q")
    assert back.returncode == 0, back
    assert _running(info)[3] == {app_container("job")}


def test_deploy_with_mitogen_stops_at_a_held_lock(clean_sandbox: SandboxInfo,
                                                  tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    assert project.kdeploy("setup", "-P", "--version", "v1", "-q").returncode == 0
    held = project.kamal("lock", "acquire", "-m", "held by kamal", *KAMAL_VERSION)
    assert held.returncode == 0, held

    deploy = project.run([sys.executable, "-m", "kdeploy", "deploy", "-P", "--version", "v2", "-q"],
                         env={**os.environ, "KDEPLOY_MITOGEN": "1"})
    assert deploy.returncode == 3, deploy
    assert "Deploy lock already in place!" in deploy.output, deploy
    assert "Message: held by kamal" in deploy.output, deploy
    assert _running(info)[1] == {app_container("web"), "kdeploy-demo-db"}
    assert lock_dirs(info, 1) == ["/root/.kamal/lock-kdeploy-demo"]
    assert project.kamal("lock", "release", *KAMAL_VERSION).returncode == 0

