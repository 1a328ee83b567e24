"""`kdeploy upgrade` migrates hosts set up by Kamal 1 (Kamal's `kamal upgrade`).

The web hosts are made to look like Kamal 1 left them, by hand: a `traefik` container (image
labelled as Traefik's, port 80 published) and the app container `kdeploy-demo-web-v1` on Docker's
default network, its image tagged `latest` as Kamal 1 tagged it; on host 1 the db accessory,
outside the `kamal` network too. The Traefik image is made from a sandbox image (`docker
commit`), nothing comes from the internet. After `upgrade -y`: no Traefik container or image,
kamal-proxy runs (the sandbox's stand-in), the app runs from the latest image on the `kamal`
network, the accessory too; a second `upgrade` finds no Traefik and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from project import Project, address, example_config

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

WEB = (1, 2)
TRAEFIK_IMAGE = "traefik:v2.10"
TRAEFIK_TITLE = "org.opencontainers.image.title=Traefik"


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Iterator[Project]:
    config = example_config(clean_sandbox)
    config["servers"] = {"web": {"hosts": [address(clean_sandbox, index) for index in WEB]}}
    config["proxy"] = {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1}}
    yield Project.write(tmp_path, config)
    for index in WEB:  # the image is the test's own: never left behind for the next test
        helpers.ssh(clean_sandbox, index, f"docker rm -f traefik >/dev/null 2>&1; "
                    f"docker image rm -f {TRAEFIK_IMAGE} >/dev/null 2>&1; true")


def _as_kamal_1_left_it(info: SandboxInfo, index: int) -> None:
    registry = info.registry
    app, db = f"{registry}/{SERVICE}:v1", f"{registry}/kdeploy-db:1"
    commands = [
        f"docker pull -q {app} >/dev/null", f"docker pull -q {db} >/dev/null",
        f"docker tag {app} {registry}/{SERVICE}:latest",
        # Traefik: an image with Traefik's title label, a container named traefik on port 80.
        f"docker create --name traefik-base {db} >/dev/null",
        f"docker commit --change 'LABEL {TRAEFIK_TITLE}' traefik-base {TRAEFIK_IMAGE} >/dev/null",
        "docker rm traefik-base >/dev/null",
        f"docker run -d --name traefik --restart unless-stopped --publish 80:80 {TRAEFIK_IMAGE}",
        # Kamal 1's app container: service/role/destination labels, Docker's default network.
        f"docker run -d --name {SERVICE}-web-v1 --label service={SERVICE} --label role=web "
        f"--label destination= {app}",
    ]
    if index == 1:
        commands.append(f"docker run -d --name {SERVICE}-db --label service={SERVICE}-db "
                        f"--publish 5432:5432 {db}")
    helpers.ssh(info, index, " && ".join(commands))


def _networks(info: SandboxInfo, index: int, name: str) -> list[str]:
    out = helpers.ssh(info, index, f"docker inspect {name}").stdout
    return sorted(json.loads(out)[0]["NetworkSettings"]["Networks"])


def test_upgrade_replaces_traefik_and_moves_app_and_accessory_to_the_kamal_network(
        clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    for index in WEB:
        _as_kamal_1_left_it(info, index)
        assert _networks(info, index, f"{SERVICE}-web-v1") == ["bridge"]

    run = project.kdeploy("upgrade", "-y")
    assert run.returncode == 0, run
    assert "Remove Traefik (Kamal 1's proxy)" in run.output
    for index in WEB:
        assert helpers.container(info, index, "traefik") is None
        images = helpers.ssh(info, index, f"docker images -q --filter label={TRAEFIK_TITLE}")
        assert images.stdout.strip() == "", f"a Traefik image is left on host {index}"
        proxy = helpers.container(info, index, "kamal-proxy")
        assert proxy is not None and proxy.running
        app = helpers.container(info, index, f"{SERVICE}-web-latest")
        assert app is not None and app.running, helpers.containers(info, index)
        assert app.image == f"{info.registry}/{SERVICE}:latest"
        assert "kamal" in _networks(info, index, f"{SERVICE}-web-latest")
        old = helpers.container(info, index, f"{SERVICE}-web-v1")
        assert old is None or not old.running  # stopped by the boot, maybe pruned
    db = helpers.container(info, 1, f"{SERVICE}-db")
    assert db is not None and db.running
    assert "kamal" in _networks(info, 1, f"{SERVICE}-db")

    # Upgraded hosts have no Traefik: the steps go on (Kamal ignores a missing traefik too).
    run = project.kdeploy("upgrade", "-y", "--rolling", "--output", "json")
    assert run.returncode == 0, run
    events = run.events()
    said = {(event["host"], event.get("msg")) for event in events
            if event["type"] == "host_result" and event["task"] == "Say whether Traefik was found."}
    assert said == {(address(info, index), "No Traefik on the host: nothing to remove")
                    for index in WEB}
    summary = events[-1]
    assert (summary["type"], summary["command"], summary["exit_code"]) == ("summary", "upgrade", 0)
    assert helpers.container(info, 1, "kamal-proxy").running
