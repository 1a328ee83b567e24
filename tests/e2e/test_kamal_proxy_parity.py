"""The kamal-proxy engine runs what Kamal 2.11.0 runs, argv for argv (issue 7).

The real kamal-proxy image cannot be fetched here, so the sandbox registry (the hosts' Docker Hub
mirror) serves a stand-in under Kamal's name (`basecamp/kamal-proxy:v0.9.2`): its `kamal-proxy`
records every call's arguments in the proxy's config volume. Kamal and then kdeploy run the
same steps on clean hosts with the same config: deploy (boots the proxy, then `kamal-proxy
deploy` with the health check and the hosts), `proxy reboot`, `app remove` (`kamal-proxy
remove`). The proxy container (docker inspect) and the recorded calls must be the same, up to
the app containers' ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import helpers
import pytest
from project import Project, address, example_config

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

WEB = (1, 2)
CALLS = "/home/kamal-proxy/.config/kamal-proxy/calls.log"
SERVICE = "kdeploy-demo-web"
TARGET = re.compile(r"^--target=[0-9a-f]{12}:")
LIST_FILES = ("cd ~ && [ ! -d .kamal/proxy ] || find .kamal/proxy | sort | while read -r p; do "
              'echo "$p $(stat -c %a "$p") $([ -f "$p" ] && md5sum < "$p" | cut -c1-32)"; done')
CERTIFICATE = {"CERT_PEM": "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----",
               "KEY_PEM": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"}


def _config(info: SandboxInfo, run_form: bool) -> dict[str, Any]:
    config = example_config(info)
    config.pop("accessories")
    config["servers"]["web"] = {"hosts": [address(info, index) for index in WEB]}
    config["proxy"] = {
        "host": "app.example.com,www.example.com",
        "app_port": 80,
        "response_timeout": 10,
        "forward_headers": True,
        "healthcheck": {"path": "/up", "interval": 1, "timeout": 2},
        "buffering": {"requests": True, "responses": False, "max_request_body": 1000000},
        "logging": {"request_headers": ["X-Request-Id"]},
    }
    if run_form:
        # Kamal's app boot uploads custom certificates and error pages for kamal-proxy.
        config["proxy"]["ssl"] = {"certificate_pem": "CERT_PEM", "private_key_pem": "KEY_PEM"}
        config["error_pages_path"] = "public/errors"
        config["proxy"]["run"] = {
            "registry": info.registry, "repository": "basecamp/kamal-proxy", "version": "v0.9.2",
            "http_port": 8080, "https_port": 8443, "log_max_size": "20m",
            "options": {"label": "kdeploy.parity=1"},
        }
    return config


def _inspect(info: SandboxInfo, index: int) -> dict[str, Any]:
    item = json.loads(helpers.ssh(info, index, "docker inspect kamal-proxy").stdout)[0]
    config, host = item["Config"], item["HostConfig"]
    return {
        "name": item["Name"],
        "image": config["Image"],
        "cmd": config.get("Cmd"),
        "entrypoint": config.get("Entrypoint"),
        "labels": config.get("Labels"),
        "env": sorted(config.get("Env") or []),
        "exposed": sorted(config.get("ExposedPorts") or {}),
        "binds": sorted(host.get("Binds") or []),
        "ports": host.get("PortBindings"),
        "restart": host.get("RestartPolicy"),
        "log": host.get("LogConfig"),
        "network": host.get("NetworkMode"),
        "mounts": sorted((m["Type"], m.get("Name", m.get("Source")), m["Destination"])
                         for m in item["Mounts"]),
    }


def _files(info: SandboxInfo, index: int) -> list[str]:
    """Every file and directory under ~/.kamal/proxy: path, mode and (files) content hash."""
    return helpers.ssh(info, index, LIST_FILES).stdout.splitlines()


def _calls(info: SandboxInfo, index: int) -> list[list[str]]:
    """The stand-in's calls, one argv per line (TAB-separated), the app container ids masked."""
    out = helpers.ssh(info, index, f"docker exec kamal-proxy cat {CALLS}").stdout
    return [[TARGET.sub("--target=ID:", arg) for arg in line.split("\t")]
            for line in out.splitlines() if line]


def _steps(info: SandboxInfo, tool: Any) -> dict[str, Any]:
    run = tool("deploy", "-P", "--version", "v1")
    assert run.returncode == 0, run
    booted = {index: _inspect(info, index) for index in WEB}
    files = {index: _files(info, index) for index in WEB}
    # The locking commands need a version for the lock details (no git repo here).
    run = tool("proxy", "reboot", "-y", "--version", "v1")
    assert run.returncode == 0, run
    rebooted = {index: _inspect(info, index) for index in WEB}
    run = tool("app", "remove", "--version", "v1")
    assert run.returncode == 0, run
    calls = {index: _calls(info, index) for index in WEB}
    removed = {index: _files(info, index) for index in WEB}
    return {"booted": booted, "rebooted": rebooted, "calls": calls, "files": files,
            "removed": removed}


@pytest.mark.parametrize("run_form", [True, False], ids=["proxy-run", "legacy-boot-config"])
def test_kdeploy_runs_kamal_proxy_exactly_as_kamal_does(clean_sandbox: SandboxInfo,
                                                        tmp_path: Path, run_form: bool) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, _config(info, run_form), CERTIFICATE)
    errors = tmp_path / "public" / "errors"
    errors.mkdir(parents=True)
    for name in ("404.html", "502.html", "notes.txt"):
        (errors / name).write_text(f"<p>{name}</p>\n")
    kamal = _steps(info, project.kamal)
    helpers.clean_hosts(info)
    ours = _steps(info, project.kdeploy)

    assert ours["booted"] == kamal["booted"]
    assert ours["rebooted"] == kamal["rebooted"]
    assert ours["calls"] == kamal["calls"]
    assert ours["files"] == kamal["files"]
    assert ours["removed"] == kamal["removed"]
    # What the calls are: run (boot), deploy with the health check and hosts, run (reboot),
    # remove. Kamal's own argv, so the test states them once more.
    first = kamal["calls"][1]
    assert [call[0] for call in first] == ["run", "deploy", "run", "remove"]
    deploy = first[1]
    assert deploy[1:5] == [SERVICE, "--target=ID:80", "--host=app.example.com",
                           "--host=www.example.com"]
    assert "--health-check-path=/up" in deploy and "--health-check-interval=1s" in deploy
    assert first[3] == ["remove", SERVICE]
    if run_form:
        uploaded = " ".join(kamal["files"][1])
        assert "tls/web/cert.pem 644" in uploaded and "error_pages/v1/404.html 644" in uploaded
        assert "notes.txt" not in uploaded
