"""`proxy boot_config set|get|reset` against Kamal 2.11.0 on the sandbox (issue 16).

Kamal and then kdeploy run the same steps on clean hosts with a config without `proxy/run`:
set (non-default options), get, proxy boot (which reads the files), reset. The files under
~/.kamal/proxy (path, mode, content hash), what get prints per host and the booted kamal-proxy
container (docker inspect) must be the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helpers
import pytest
from project import Project, address, example_config
from test_kamal_proxy_parity import WEB, _files, _inspect

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SET = ("--http-port", "8080", "--log-max-size", "20m", "--metrics-port", "9090", "--debug",
       "--image-version", "v0.9.2", "--docker-options", "label=kdeploy.bc=1", "memory=512m")


def _steps(info: SandboxInfo, tool: Any) -> dict[str, Any]:
    run = tool("proxy", "boot_config", "set", *SET)
    assert run.returncode == 0, run
    files = {index: _files(info, index) for index in WEB}
    run = tool("proxy", "boot_config", "get")
    assert run.returncode == 0, run
    shown = sorted(line.strip() for line in run.output.splitlines()
                   if line.strip().startswith("Host "))
    run = tool("proxy", "boot", "--version", "v1")
    assert run.returncode == 0, run
    booted = {index: _inspect(info, index) for index in WEB}
    run = tool("proxy", "boot_config", "reset")
    assert run.returncode == 0, run
    return {"files": files, "shown": shown, "booted": booted,
            "reset": {index: _files(info, index) for index in WEB}}


def test_boot_config_is_kamals(clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    config = example_config(info)
    config.pop("accessories")
    config["servers"]["web"] = {"hosts": [address(info, index) for index in WEB]}
    config["proxy"] = {"app_port": 80}
    project = Project.write(tmp_path, config)
    kamal = _steps(info, project.kamal)
    helpers.clean_hosts(info)
    ours = _steps(info, project.kdeploy)

    assert ours == kamal
    # What that is, stated once more: the files' content, and the container they booted.
    assert kamal["shown"][0] == (
        f"Host {address(info, 1)}: --publish 8080:80 --publish 443:443 --log-opt max-size=20m "
        "--expose=9090 --label=kdeploy.bc=1 --memory=512m basecamp/kamal-proxy:v0.9.2 "
        'kamal-proxy run --debug --metrics-port "9090"')
    booted = kamal["booted"][1]
    assert booted["cmd"] == ["kamal-proxy", "run", "--debug", "--metrics-port", "9090"]
    assert booted["labels"]["kdeploy.bc"] == "1"
    assert booted["ports"]["80/tcp"] == [{"HostIp": "", "HostPort": "8080"}]
    assert not any(path.endswith(("/options", "/image_version", "/run_command"))
                   for path in " ".join(kamal["reset"][1]).split())


def test_caddy_refuses_boot_config_naming_x_kdeploy_proxy(clean_sandbox: SandboxInfo,
                                                          tmp_path: Path) -> None:
    info = clean_sandbox
    config = example_config(info)
    config.pop("accessories")
    config["x-kdeploy"] = {"proxy": {"engine": "caddy"}}
    config["servers"]["web"] = {"hosts": [address(info, 1)]}
    project = Project.write(tmp_path, config)
    run = project.kdeploy("proxy", "boot_config", "set", "--http-port", "8080")
    assert run.returncode == 2, run
    assert "the caddy engine has no boot config files" in run.output
    assert "x-kdeploy/proxy" in run.output
    assert helpers.ssh(info, 1, "ls -A .kamal/proxy 2>/dev/null || true").stdout == ""
