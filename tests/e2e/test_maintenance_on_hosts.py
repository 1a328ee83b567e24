"""`kdeploy prune`, `registry login|logout` and `server bootstrap|exec` on real hosts.

Where Kamal can run the same command, it runs on a twin host prepared the same way and the
hosts must end up alike (containers, images, docker logins, audit messages).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from project import AUDIT_LINE, Project, Run, address, audit_lines, example_config, lock_dirs

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SERVICE = "kdeploy-demo"
KAMAL_VERSION = ("--version", "v1")  # Kamal takes the lock's version from git otherwise


def assert_ok(run: Run) -> None:
    """The run exited 0 without a traceback."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run


def names(info: SandboxInfo, index: int) -> list[str]:
    """Container names on host `index`, newest first (docker ps order)."""
    out = helpers.ssh(info, index, "docker ps -a --format '{{.Names}}'").stdout
    return out.split()


def image_tags(info: SandboxInfo, index: int) -> set[str]:
    """`repository:tag` of every image on host `index`."""
    out = helpers.ssh(info, index, "docker image ls --format '{{.Repository}}:{{.Tag}}'").stdout
    return set(out.split())


def audit_messages(info: SandboxInfo, index: int) -> list[str]:
    """The audit log's messages on host `index`, without time and performer."""
    return [match["message"] for line in audit_lines(info, index)
            if (match := AUDIT_LINE.match(line))]


def stopped_containers(info: SandboxInfo, index: int) -> None:
    """Four stopped containers of the service (oldest first) and one of another service."""
    image = f"{info.registry}/{SERVICE}:v1"
    commands = [f"docker pull -q {image} >/dev/null",
                f"docker create --name other-web-v1 --label service=other {image} >/dev/null"]
    for number in range(1, 5):
        commands.append(f"docker create --name {SERVICE}-web-old{number} "
                        f"--label service={SERVICE} --label role=web {image} >/dev/null")
        commands.append("sleep 0.05")  # distinct creation times: docker ps sorts by them
    helpers.ssh(info, index, " && ".join(commands))


def service_images(info: SandboxInfo, index: int) -> None:
    """v1 in use by a stopped container, v2 also tagged latest, v3 unused."""
    repository = f"{info.registry}/{SERVICE}"
    helpers.ssh(info, index, " && ".join([
        *(f"docker pull -q {repository}:{tag} >/dev/null" for tag in ("v1", "v2", "v3")),
        f"docker tag {repository}:v2 {repository}:latest",
        f"docker create --name {SERVICE}-web-v1 --label service={SERVICE} {repository}:v1"
        " >/dev/null",
    ]))


def test_prune_containers_keeps_the_newest_like_kamal(clean_sandbox: SandboxInfo,
                                                      tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    for index in (1, 2):
        stopped_containers(info, index)
    assert_ok(project.kdeploy("prune", "containers", "--retain", "2", "-h", address(info, 1),
                              "--version", "v1"))
    assert_ok(project.kamal("prune", "containers", "--retain", "2", "-h", address(info, 2),
                            *KAMAL_VERSION))
    kept = [f"{SERVICE}-web-old4", f"{SERVICE}-web-old3", "other-web-v1"]
    assert names(info, 1) == names(info, 2) == kept
    assert audit_messages(info, 1)[-1] == audit_messages(info, 2)[-1] == "Pruned containers"
    assert audit_messages(info, 3) == []  # outside the filter
    assert lock_dirs(info, 1) == lock_dirs(info, 2) == []

    # A second run finds nothing more to remove: nothing changes but the lock.
    again = project.kdeploy("prune", "containers", "--retain", "2", "-h", address(info, 1),
                            "--version", "v1", "--output", "json")
    assert_ok(again)
    assert again.events()[-1]["hosts"][address(info, 1)]["changed"] == 2  # lock taken, released
    assert names(info, 1) == kept


def test_prune_images_keeps_latest_and_images_in_use_like_kamal(clean_sandbox: SandboxInfo,
                                                                tmp_path: Path) -> None:
    info = clean_sandbox
    helpers.clean_hosts(info, images=True)
    project = Project.write(tmp_path, example_config(info))
    for index in (2, 3):
        service_images(info, index)
    assert_ok(project.kdeploy("prune", "images", "-h", address(info, 3), "--version", "v1"))
    assert_ok(project.kamal("prune", "images", "-h", address(info, 2), *KAMAL_VERSION))
    repository = f"{info.registry}/{SERVICE}"
    assert image_tags(info, 3) == image_tags(info, 2) == {f"{repository}:v1",
                                                          f"{repository}:latest"}
    assert audit_messages(info, 3)[-1] == audit_messages(info, 2)[-1] == "Pruned images"


def test_prune_all_on_every_host_and_a_held_lock_stops_it(clean_sandbox: SandboxInfo,
                                                           tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, {**example_config(info), "retain_containers": 1})
    stopped_containers(info, 1)
    assert_ok(project.kamal("lock", "acquire", "-m", "maintenance", *KAMAL_VERSION))
    held = project.kdeploy("prune", "all", "--version", "v1")
    assert held.returncode == 3, held
    assert "Deploy lock already in place!" in held.output, held
    assert "Message: maintenance" in held.output, held
    assert len(names(info, 1)) == 5  # nothing pruned
    assert_ok(project.kamal("lock", "release", *KAMAL_VERSION))

    assert_ok(project.kdeploy("prune", "all", "--version", "v1", "-q"))
    assert names(info, 1) == [f"{SERVICE}-web-old4", "other-web-v1"]
    for index in (1, 2, 3):
        assert audit_messages(info, index)[-2:] == ["Pruned containers", "Pruned images"]
    assert lock_dirs(info, 1) == []


def test_server_exec_prints_each_hosts_output_and_audits_it(clean_sandbox: SandboxInfo,
                                                             tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    command = "echo {{braces}} $(hostname)"
    run = project.kdeploy("server", "exec", command)
    assert_ok(run)
    hosts = [address(info, index) for index in (1, 2, 3)]
    assert f"Running '{command}' on {', '.join(hosts)}..." in run.stdout
    for index, host in enumerate(hosts, start=1):
        assert f"App Host: {host}\n{{{{braces}}}} {info.host(index).name}\n" in run.stdout, run
    kamal = project.kamal("server", "exec", "-r", "job", command, *KAMAL_VERSION)
    assert_ok(kamal)
    assert f"App Host: {hosts[2]}\n{{{{braces}}}} {info.host(3).name}" in kamal.stdout, kamal
    expected = f"Executed cmd '{command}' on {hosts[2]}"
    assert audit_messages(info, 3) == [expected, expected]  # kdeploy's line, then Kamal's

    as_json = project.kdeploy("server", "exec", "-r", "web", "--output", "json", "hostname")
    assert_ok(as_json)
    (report,) = [event for event in as_json.events() if event["type"] == "report"]
    assert report["items"] == [{"host": hosts[0], "rc": 0, "output": info.host(1).name},
                               {"host": hosts[1], "rc": 0, "output": info.host(2).name}]


def test_server_exec_failure_shows_the_output_and_exits_1(clean_sandbox: SandboxInfo,
                                                          tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    run = project.kdeploy("server", "exec", "-h", address(info, 2), "echo partial; exit 7")
    assert run.returncode == 1, run
    assert f"App Host: {address(info, 2)}\npartial" in run.stdout, run
    assert f"'echo partial; exit 7' exited with status 7 on {address(info, 2)}" in run.output
    assert "Traceback" not in run.output


def test_server_exec_interactive_opens_ssh_on_the_primary_host(clean_sandbox: SandboxInfo,
                                                                tmp_path: Path) -> None:
    info = clean_sandbox
    # The user's own ssh runs the session: it must know the sandbox's (rebuilt) host keys.
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                          "  LogLevel ERROR\n")
    config = example_config(info)
    config["ssh"] = {**config["ssh"], "config": str(ssh_config)}
    project = Project.write(tmp_path, config)
    run = project.run([sys.executable, "-m", "kdeploy", "server", "exec", "-i", "-r", "job",
                       "hostname; exit 3"], timeout=60)
    assert run.returncode == 3, run  # the session's own exit code
    assert f"Running 'hostname; exit 3' on {address(info, 3)} interactively..." in run.stdout
    assert info.host(3).name in run.stdout, run


def test_server_bootstrap_restores_docker_setup_under_the_lock(clean_sandbox: SandboxInfo,
                                                               tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    helpers.ssh(info, 2, "docker network rm kamal >/dev/null 2>&1 || true")
    assert_ok(project.kamal("lock", "acquire", "-m", "busy", "-h", address(info, 2),
                            *KAMAL_VERSION))
    held = project.kdeploy("server", "bootstrap", "-h", address(info, 2), "--version", "v1")
    assert held.returncode == 3, held
    assert "kamal" not in helpers.ssh(info, 2, "docker network ls --format '{{.Name}}'").stdout
    assert_ok(project.kamal("lock", "release", "-h", address(info, 2), *KAMAL_VERSION))

    run = project.kdeploy("server", "bootstrap", "-h", address(info, 2), "--version", "v1",
                          "--output", "json")
    assert_ok(run)
    assert "kamal" in helpers.ssh(info, 2, "docker network ls --format '{{.Name}}'").stdout
    assert set(run.events()[-1]["hosts"]) == {address(info, 2)}
    assert lock_dirs(info, 2) == []
    # Converged: a second bootstrap of every host changes nothing but the lock.
    assert_ok(project.kdeploy("server", "bootstrap", "--version", "v1", "-q"))
    again = project.kdeploy("server", "bootstrap", "--version", "v1", "--output", "json")
    assert_ok(again)
    changed = {host: counts["changed"] for host, counts in again.events()[-1]["hosts"].items()}
    assert changed == {address(info, 1): 2, address(info, 2): 0, address(info, 3): 0}


def docker_auths(info: SandboxInfo, index: int) -> dict:
    """The `auths` of ~/.docker/config.json on host `index` ({} without the file)."""
    out = helpers.ssh(info, index, "cat ~/.docker/config.json 2>/dev/null || echo '{}'").stdout
    return json.loads(out).get("auths", {})


def test_registry_login_and_logout_on_the_hosts_like_kamal(clean_sandbox: SandboxInfo,
                                                           tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    try:
        for index in (1, 2, 3):
            helpers.ssh(info, index, f"docker logout {info.registry} >/dev/null 2>&1")
        assert_ok(project.kdeploy("registry", "login", "-L", "-r", "web"))
        assert_ok(project.kamal("registry", "login", "-L", "-r", "job", *KAMAL_VERSION))
        auth = docker_auths(info, 1)
        assert set(auth) == {info.registry}
        assert docker_auths(info, 2) == docker_auths(info, 3) == auth
        # An unchanged login reports no change.
        again = project.kdeploy("registry", "login", "-L", "--output", "json")
        assert_ok(again)
        assert {counts["changed"] for counts in again.events()[-1]["hosts"].values()} == {0}

        assert_ok(project.kdeploy("registry", "logout", "-L", "-h", address(info, 1)))
        assert_ok(project.kamal("registry", "logout", "-L", "-h", address(info, 2),
                                *KAMAL_VERSION))
        assert docker_auths(info, 1) == docker_auths(info, 2) == {}
        assert docker_auths(info, 3) == auth
    finally:
        # Other tests pull with or without a login: leave the hosts logged in, as setup does.
        project.kdeploy("registry", "login", "-L", "-q")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[str]:
    """A registry with a password (`deploy` / `s3cret`) on 127.0.0.1, for the local login."""
    registry = shutil.which("docker-registry")
    if registry is None or shutil.which("docker") is None:
        pytest.skip("docker-registry and the docker client are needed for a local login")
    crypt = subprocess.run(
        ["python3", "-W", "ignore", "-c",
         "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH)))"],
        capture_output=True, text=True, check=False)
    if crypt.returncode != 0 or not crypt.stdout.startswith("$2"):
        pytest.skip("no bcrypt for the registry's htpasswd file")
    (tmp_path / "htpasswd").write_text(f"deploy:{crypt.stdout.strip()}\n")
    listen = f"127.0.0.1:{_free_port()}"
    (tmp_path / "registry.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'storage'}}}}}\n"
        f"http: {{addr: {listen}}}\n"
        f"auth: {{htpasswd: {{realm: kdeploy, path: {tmp_path / 'htpasswd'}}}}}\n")
    process = subprocess.Popen([registry, "serve", str(tmp_path / "registry.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        host, port = listen.split(":")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex((host, int(port))) == 0:
                    break
            time.sleep(0.05)
        yield listen
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_local_login_uses_the_secret_and_never_shows_it(auth_registry: str, tmp_path: Path,
                                                        clean_sandbox: SandboxInfo) -> None:
    config = example_config(clean_sandbox)
    config["registry"] = {"server": auth_registry, "username": "deploy",
                          "password": ["KAMAL_REGISTRY_PASSWORD"]}
    project = Project.write(tmp_path / "project", config,
                            {"KAMAL_REGISTRY_PASSWORD": "wrong-password-1234"})
    docker_config = tmp_path / "docker-config"
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}
    argv = [sys.executable, "-m", "kdeploy", "registry", "login", "-R"]

    refused = project.run(argv, env=env, timeout=60)
    assert refused.returncode == 1, refused
    assert f"ERROR: Local docker login to {auth_registry} failed" in refused.output, refused
    assert "wrong-password-1234" not in refused.output
    assert not (docker_config / "config.json").exists() or auth_registry not in (
        docker_config / "config.json").read_text()

    (project.directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=s3cret\n")
    logged_in = project.run(argv, env=env, timeout=60)
    assert_ok(logged_in)
    assert f"Logged in to {auth_registry} locally" in logged_in.stdout
    auths = json.loads((docker_config / "config.json").read_text())["auths"]
    assert set(auths) == {auth_registry}

    logged_out = project.run([*argv[:4], "logout", "-R"], env=env, timeout=60)
    assert_ok(logged_out)
    assert json.loads((docker_config / "config.json").read_text())["auths"] == {}
