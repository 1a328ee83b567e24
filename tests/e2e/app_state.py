"""What runs on the sandbox hosts for the example's roles: `web` on hosts 1-2, `job` on host 3."""

from __future__ import annotations

import helpers
from project import app_container

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

ROLES = {"web": (1, 2), "job": (3,)}


def served_version(info: SandboxInfo, index: int) -> str:
    """What the running web container on host `index` answers on /version."""
    command = (f"docker exec $(docker ps -q --filter label=service={SERVICE} "
               "--filter label=role=web) wget -qO- http://127.0.0.1/version")
    return helpers.ssh(info, index, command).stdout.strip()


def running_app(info: SandboxInfo, index: int) -> dict[str, list[str]]:
    """{role: [running app container names]} on host `index`."""
    found: dict[str, list[str]] = {}
    for container in helpers.containers(info, index):
        if container.running and container.labels.get("service") == SERVICE:
            found.setdefault(container.labels["role"], []).append(container.name)
    return found


def assert_runs(info: SandboxInfo, version: str) -> None:
    """Exactly one running container per role per host, of `version`, with Kamal's labels."""
    for role, hosts in ROLES.items():
        for index in hosts:
            assert running_app(info, index) == {role: [app_container(role, version)]}
            container = helpers.container(info, index, app_container(role, version))
            assert container is not None
            assert {k: container.labels.get(k) for k in ("service", "role", "destination")} == {
                "service": SERVICE, "role": role, "destination": ""}
            assert container.image.endswith(f"/{SERVICE}:{version}")
    for index in ROLES["web"]:
        assert served_version(info, index) == version.removesuffix("-unhealthy")
