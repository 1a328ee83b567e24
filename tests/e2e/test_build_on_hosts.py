"""`kdeploy build deliver|push|pull` for real: a local dockerd builds, the sandbox registry
stores, the sandbox hosts pull; and the real Kamal pulls what kdeploy pushed.

The build runs on a dockerd of this test's own (this machine's Debian docker has no buildx, so
this is the classic `docker build` + `docker push` path) that trusts the sandbox registry. The
image goes to a repository of its own, so the sandbox's demo images and tags never move.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import pytest
from project import Project, Run, app_container, audit_lines, example_config

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.procs import docker_ping, spawn, stop_pids, wait_until
from kdeploy.sandbox.registry import registry_tags

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

REPOSITORY = "kdeploy-e2e-build"
DOCKERFILE = ("FROM {registry}/kdeploy-demo:v1\nARG GREETING\nLABEL greeting=$GREETING\n"
              "COPY www/version /www/version\n")
LABELS = "{{ index .Config.Labels \"service\" }} {{ index .Config.Labels \"greeting\" }}"


@pytest.fixture(scope="module")
def local_docker(sandbox: SandboxInfo,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A dockerd on this machine (no bridge, no iptables) that trusts the sandbox registry.

    Returns the environment that points kdeploy's docker client at it, with a client config
    and a TMPDIR (for Kamal's clone directory) of the test's own.
    """
    root = tmp_path_factory.mktemp("local-docker")
    # Short: containerd's socket path must stay under the unix socket length limit.
    run_dir = Path(f"/run/kdeploy-e2e-build-{os.getpid()}")
    run_dir.mkdir(parents=True, exist_ok=True)
    daemon_json = root / "daemon.json"
    daemon_json.write_text(json.dumps({"insecure-registries": [sandbox.registry]}))
    sock = run_dir / "docker.sock"
    process = spawn(["dockerd", "--data-root", str(root / "data"),
                     "--exec-root", str(run_dir / "exec"), "--pidfile", str(run_dir / "pid"),
                     "--host", f"unix://{sock}", "--config-file", str(daemon_json),
                     "--bridge", "none", "--iptables=false", "--ip-masq=false",
                     "--ip-forward=false", "--log-level", "warn"], root / "dockerd.log")
    try:
        wait_until(lambda: docker_ping(sock), 60, "the local build dockerd")
        (root / "tmp").mkdir()
        yield {"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(root / "client"),
               "TMPDIR": str(root / "tmp")}
    finally:
        stop_pids([process.pid], grace=10)
        shutil.rmtree(run_dir, ignore_errors=True)
        _delete_repository(sandbox.registry, REPOSITORY)


def _delete_repository(registry: str, repository: str) -> None:
    # Leave the shared registry as it was: remove every manifest the tests pushed (the tags of
    # one build share a manifest, so collect the digests first).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{registry}/v2/{repository}/manifests/"
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    digests = set()
    for tag in registry_tags(registry, repository):
        head = urllib.request.Request(url + tag, method="HEAD", headers=accept)
        with opener.open(head, timeout=5) as response:
            digests.add(response.headers["Docker-Content-Digest"])
    for digest in digests:
        opener.open(urllib.request.Request(url + digest, method="DELETE"), timeout=5).close()


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), "-c", "user.email=ci@example.com",
                           "-c", "user.name=ci", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def app_project(info: SandboxInfo, directory: Path, **changes: Any) -> Project:
    """The example's hosts with an app built here: a committed git project."""
    config = example_config(info) | {"image": REPOSITORY} | changes
    config["builder"] = {"arch": "amd64", "args": {"GREETING": "hello"}}
    project = Project.write(directory, config)
    (directory / "Dockerfile").write_text(DOCKERFILE.format(registry=info.registry))
    (directory / "www").mkdir()
    (directory / "www" / "version").write_text("committed\n")
    git(directory, "init", "-q")
    git(directory, "add", "-A")
    git(directory, "commit", "-qm", "app")
    return project


def kdeploy(project: Project, env: dict[str, str], *args: str) -> Run:
    return project.run([sys.executable, "-m", "kdeploy", *args], timeout=300,
                       env={**os.environ, **env})


def test_deliver_builds_the_commit_and_every_app_host_pulls_it(
        clean_sandbox: SandboxInfo, local_docker: dict[str, str], tmp_path: Path) -> None:
    project = app_project(clean_sandbox, tmp_path)
    version = git(tmp_path, "rev-parse", "HEAD")
    image = f"{clean_sandbox.registry}/{REPOSITORY}:{version}"
    (tmp_path / "www" / "version").write_text("uncommitted\n")

    run = kdeploy(project, local_docker, "build", "deliver")
    assert run.returncode == 0, run
    assert "Building from a local git clone, so ignoring these uncommitted changes:" in run.stdout
    assert f"Pulled {image} on " in run.stdout, run
    assert {version, "latest"} <= set(registry_tags(clean_sandbox.registry, REPOSITORY))

    for index in (1, 2, 3):  # web on hosts 1-2, job on host 3: every app host
        labels = helpers.ssh(clean_sandbox, index, f"docker image inspect -f '{LABELS}' {image}")
        assert labels.stdout.strip() == "kdeploy-demo hello"
        assert f"Pulled image with version {version}" in audit_lines(clean_sandbox, index)[-1]
    # Built from the clone of HEAD: the uncommitted change is not in the image.
    content = helpers.ssh(clean_sandbox, 1, f"docker run --rm {image} cat /www/version")
    assert content.stdout.strip() == "committed"

    # Kamal accepts what kdeploy pushed: its own pull checks the service label too.
    kamal = project.kamal("build", "pull", "-h", clean_sandbox.host(3).address,
                          "--version", version)
    assert kamal.returncode == 0, kamal
    assert audit_lines(clean_sandbox, 3)[-1].endswith(f"Pulled image with version {version}")


def test_pull_json_reports_each_host_and_respects_the_role_filter(
        clean_sandbox: SandboxInfo, local_docker: dict[str, str], tmp_path: Path) -> None:
    project = app_project(clean_sandbox, tmp_path)
    version = git(tmp_path, "rev-parse", "HEAD")
    assert kdeploy(project, local_docker, "build", "push", "-q").returncode == 0

    run = kdeploy(project, local_docker, "build", "pull", "-r", "job", "--output", "json")
    assert run.returncode == 0, run
    (report,) = [event for event in run.events() if event["type"] == "report"]
    assert {key: value for key, value in report.items()
            if key not in ("schema_version", "time", "seq")} == {
        "type": "report", "report": "build pull", "items": [
            {"host": clean_sandbox.host(3).address,
             "image": f"{clean_sandbox.registry}/{REPOSITORY}:{version}",
             "label": "kdeploy-demo"}]}
    assert audit_lines(clean_sandbox, 1) == []  # web hosts were not touched


def test_pull_refuses_an_image_of_another_service(clean_sandbox: SandboxInfo,
                                                  local_docker: dict[str, str],
                                                  tmp_path: Path) -> None:
    # kdeploy-db:1 is labelled service=kdeploy-demo-db, not kdeploy-demo.
    project = app_project(clean_sandbox, tmp_path, image="kdeploy-db")
    run = kdeploy(project, local_docker, "build", "pull", "--version", "1", "-r", "web")
    assert run.returncode == 1, run
    host = clean_sandbox.host(1).address
    assert (f"Image {clean_sandbox.registry}/kdeploy-db:1 is missing the 'service' label "
            f"kdeploy-demo on {host} (its label: kdeploy-demo-db)") in run.output, run
    assert "Traceback" not in run.output


def test_failed_build_shows_dockers_error_and_pushes_nothing(clean_sandbox: SandboxInfo,
                                                             local_docker: dict[str, str],
                                                             tmp_path: Path) -> None:
    project = app_project(clean_sandbox, tmp_path)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {clean_sandbox.registry}/kdeploy-demo:v1\nCOPY missing.txt /missing.txt\n")
    git(tmp_path, "commit", "-qam", "broken")
    version = git(tmp_path, "rev-parse", "HEAD")

    run = kdeploy(project, local_docker, "build", "deliver", "-q")
    assert run.returncode == 1, run
    assert "ERROR: Building the image failed (`docker build` exited 1):" in run.stderr, run
    assert "missing.txt" in run.stderr, run
    assert version not in registry_tags(clean_sandbox.registry, REPOSITORY)
    assert audit_lines(clean_sandbox, 1) == []  # nothing was pulled


def test_setup_without_skip_push_builds_pushes_and_boots_the_version(
        clean_sandbox: SandboxInfo, local_docker: dict[str, str], tmp_path: Path) -> None:
    # Kamal's setup: its deploy runs `build deliver` unless -P, for a filtered setup too.
    project = app_project(clean_sandbox, tmp_path)
    image = f"{clean_sandbox.registry}/{REPOSITORY}:v7"

    run = kdeploy(project, local_docker, "setup", "--version", "v7", "-r", "job")
    assert run.returncode == 0, run
    assert f"Pushed {image}" in run.stdout, run
    assert {"v7", "latest"} <= set(registry_tags(clean_sandbox.registry, REPOSITORY))
    job = helpers.container(clean_sandbox, 3, app_container("job", "v7"))
    assert job is not None and job.running, run
    content = helpers.ssh(clean_sandbox, 3, f"docker run --rm {image} cat /www/version")
    assert content.stdout.strip() == "committed"
    # Only the job role's host was set up.
    assert helpers.container(clean_sandbox, 1, app_container("web", "v7")) is None
