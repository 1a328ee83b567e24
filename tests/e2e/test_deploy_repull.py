"""A tag re-pushed with new content is pulled on the next no-op deploy; a tag that didn't move
isn't (issue 16, deliverable 6).

The tag `repull` of the sandbox registry's demo image is pointed at v1's manifest, deployed,
then pointed at v2's manifest (a re-push: the registry's manifest API, no build needed), and
deployed again with the same version. Roles `web` (hosts 1-2) and `job` (host 3), `proxy: false`.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import helpers
import pytest
from app_state import ROLES, served_version
from project import Project, address, app_container, example_config

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

TAG = "repull"
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])
# No proxy: the registry is on this machine, and env proxies must never see the traffic.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def manifest(info: SandboxInfo, tag: str) -> tuple[bytes, str, str]:
    """The registry's manifest of the demo image's `tag`: (body, media type, digest)."""
    request = urllib.request.Request(f"http://{info.registry}/v2/{SERVICE}/manifests/{tag}",
                                     headers={"Accept": MANIFEST_TYPES})
    with OPENER.open(request, timeout=10) as response:
        return (response.read(), response.headers["Content-Type"],
                response.headers["Docker-Content-Digest"])


def push_tag(info: SandboxInfo, tag: str, source: str) -> str:
    """Point `tag` at `source`'s manifest, as a `docker push` of that content would; its digest."""
    body, media_type, digest = manifest(info, source)
    request = urllib.request.Request(f"http://{info.registry}/v2/{SERVICE}/manifests/{tag}",
                                     data=body, method="PUT",
                                     headers={"Content-Type": media_type})
    with OPENER.open(request, timeout=10) as response:
        assert response.status == 201, response.status
    assert manifest(info, tag)[2] == digest
    return digest


def image_ids(info: SandboxInfo, source: str) -> set[str]:
    """The IDs a host can give the image of `source`: its config's digest (Docker's image ID)
    or its manifest's digest (the containerd image store's)."""
    body, _, digest = manifest(info, source)
    config = (json.loads(body).get("config") or {}).get("digest")
    return {digest, config} - {None}


def running_image(info: SandboxInfo, index: int, role: str) -> tuple[str, str]:
    """The (container ID, image ID) of the role's `repull` container on host `index`."""
    out = helpers.ssh(info, index, "docker inspect --format '{{.Id}} {{.Image}}' "
                      + app_container(role, TAG)).stdout.split()
    return out[0], out[1]


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(clean_sandbox)
    config.pop("accessories")
    return Project.write(tmp_path, config)


def test_a_moved_tag_is_pulled_and_replaces_the_container_and_a_still_one_is_not(
        clean_sandbox: SandboxInfo, project: Project) -> None:
    info = clean_sandbox
    push_tag(info, TAG, "v1")
    assert (run := project.kdeploy("deploy", "-P", "--version", TAG)).returncode == 0, run
    hosts = [(role, index) for role, indexes in ROLES.items() for index in indexes]
    first = {host: running_image(info, host[1], host[0]) for host in hosts}
    assert all(image in image_ids(info, "v1") for _, image in first.values())
    assert [served_version(info, index) for index in ROLES["web"]] == ["v1", "v1"]

    # Re-push the tag with v2's content. A check names the pull and the replace, and changes
    # nothing (it only asks the registry).
    push_tag(info, TAG, "v2")
    run = project.kdeploy("deploy", "-P", "--version", TAG, "--check", "--output", "json")
    assert run.returncode == 0, run
    result = run.events()[-1]
    assert result["pending_changes"] is True, result
    for role, index in hosts:
        pending = {(change["kind"], change["action"]): change
                   for change in result["hosts"][address(info, index)]["pending"]}
        assert pending[("image", "pull")]["name"] == f"{info.registry}/{SERVICE}:{TAG}"
        replace = pending[("app", "replace")]
        assert (replace["from"], replace["to"]) == (app_container(role, TAG),) * 2
    assert {host: running_image(info, host[1], host[0]) for host in hosts} == first

    # The same version deployed again pulls the moved tag and replaces the container.
    run = project.kdeploy("deploy", "-P", "--version", TAG, "--diff", "--output", "json")
    assert run.returncode == 0, run
    second = {host: running_image(info, host[1], host[0]) for host in hosts}
    for host in hosts:
        assert second[host][0] != first[host][0], host  # a new container
        assert second[host][1] in image_ids(info, "v2"), host
        names = {c.name: c.state for c in helpers.containers(info, host[1])
                 if c.labels.get("service") == SERVICE}
        # Kamal's same-name replace: the old container is kept, renamed and stopped.
        assert names.pop(app_container(host[0], TAG)) == "running"
        assert [state for name, state in names.items()
                if name.startswith(app_container(host[0], TAG) + "_replaced_")] == ["exited"]
    assert [served_version(info, index) for index in ROLES["web"]] == ["v2", "v2"]
    summary = run.events()[-1]["hosts"]
    for _, index in hosts:
        changes = summary[address(info, index)]["changes"]
        assert {"kind": "image", "name": f"{info.registry}/{SERVICE}:{TAG}",
                "action": "pull"} in changes, changes

    # Nothing re-pushed: one registry read per host, no pull, no new container.
    run = project.kdeploy("deploy", "-P", "--version", TAG, "--output", "json")
    assert run.returncode == 0, run
    assert {host: running_image(info, host[1], host[0]) for host in hosts} == second
    summary = run.events()[-1]["hosts"]
    # Host 1 holds the deploy lock: taking and releasing it are its two changes.
    assert {host: counts["changed"] for host, counts in summary.items()} == {
        address(info, 1): 2, address(info, 2): 0, address(info, 3): 0}
