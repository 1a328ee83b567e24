"""Helpers for e2e tests on sandbox hosts: SSH, containers, HTTP, cleanup, skip reasons."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kdeploy.sandbox import SandboxHost, SandboxInfo
from kdeploy.sandbox.preflight import describe, inspect_machine

# What a deploy of the sandbox example leaves on a host besides containers:
# Kamal's/kdeploy's state dir and the db accessory's directories (~/<service_name>).
DEPLOY_STATE = ("~/.kamal", "~/.kdeploy", "~/kdeploy-demo-db")
# The proxies' named volumes (kamal-proxy's config; Caddy's autosaved routes and its data).
PROXY_VOLUMES = ("kamal-proxy-config", "kdeploy-proxy-config", "kdeploy-proxy-data")


@dataclass(frozen=True)
class Container:
    """One container on a sandbox host, as `docker inspect` reports it."""

    name: str
    state: str
    id: str
    started_at: str
    labels: dict[str, str]
    image: str

    @property
    def running(self) -> bool:
        """True when the container runs."""
        return self.state == "running"


def machine_problem() -> str | None:
    """Why this machine cannot run the sandbox, or None when it can."""
    findings = inspect_machine()
    return None if findings.ok else describe(findings)


def in_ci() -> bool:
    """True on CI (`CI=true`), where e2e tests must fail instead of skipping."""
    return os.environ.get("CI", "").lower() == "true"


def ssh(info: SandboxInfo, host: str | int | SandboxHost, command: str, check: bool = True,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a shell command on a host over SSH as root with the sandbox key.

    Raises:
        AssertionError: when `check` and the command fails (shows its output).
    """
    result = subprocess.run(info.ssh_command(host, command), capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"ssh {host} {command!r} exited {result.returncode}:\n"
                             f"{result.stdout}{result.stderr}")
    return result


def containers(info: SandboxInfo, host: str | int | SandboxHost) -> list[Container]:
    """Every container on a host (running or not), read over SSH."""
    out = ssh(info, host, "ids=$(docker ps -aq); [ -z \"$ids\" ] || docker inspect $ids").stdout
    return [_container(item) for item in json.loads(out or "[]")]


def container(info: SandboxInfo, host: str | int | SandboxHost, name: str) -> Container | None:
    """The container called `name` on a host, or None."""
    return next((c for c in containers(info, host) if c.name == name), None)


def _container(item: dict) -> Container:
    config = item.get("Config") or {}
    return Container(name=item["Name"].lstrip("/"), state=item["State"]["Status"],
                     id=item["Id"], started_at=item["State"]["StartedAt"],
                     labels=config.get("Labels") or {}, image=config.get("Image", ""))


def http_get(address: str, port: int = 80, path: str = "/", timeout: float = 5
             ) -> tuple[int, str]:
    """GET `http://address:port/path`; returns (status, body), status 0 when unreachable."""
    # No proxy: sandbox addresses are on this machine and must never go elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def wait_http(address: str, port: int = 80, path: str = "/", timeout: float = 20
              ) -> tuple[int, str]:
    """Poll `http_get` until it answers 200 or `timeout` passes; returns the last answer."""
    deadline = time.monotonic() + timeout
    answer = http_get(address, port, path)
    while answer[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = http_get(address, port, path)
    return answer


def clean_host(info: SandboxInfo, host: SandboxHost, images: bool = False) -> None:
    """Remove every container and the example's deploy state (and optionally all images)."""
    commands = ["ids=$(docker ps -aq); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null",
                f"rm -rf {' '.join(DEPLOY_STATE)}",
                f"docker volume rm -f {' '.join(PROXY_VOLUMES)} >/dev/null"]
    if images:
        commands.append("docker image prune -af >/dev/null")
    ssh(info, host, "; ".join(commands))


def clean_hosts(info: SandboxInfo, images: bool = False) -> None:
    """`clean_host` on every host at once."""
    with ThreadPoolExecutor(max_workers=len(info.hosts) or 1) as pool:
        list(pool.map(lambda h: clean_host(info, h, images), info.hosts))
