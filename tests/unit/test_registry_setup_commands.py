"""`kdeploy registry setup|remove` on this machine, against a fake docker on PATH.

Kamal 2.11 (`cli/registry.rb`, `commands/registry.rb`): with a local registry (`localhost:PORT`)
setup runs `docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:PORT:5000
--name kamal-docker-registry registry:3` and remove `docker stop … && docker rm …` (a failure
ignored), touching no host; with any other registry they are `login` and `logout`. The hosts'
half runs through Ansible and is covered on the sandbox (tests/e2e/test_registry_setup.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from fake_docker import FakeDocker, fake_docker  # noqa: F401  (the fixture)

import kdeploy.cli as cli_package
from kdeploy.events import schema_path

LOCAL = {"server": "localhost:5555"}
REMOTE = {"server": "registry.example.com", "username": "deployer",
          "password": ["KAMAL_REGISTRY_PASSWORD"]}
RUN = ("docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3")


def kdeploy(tmp_path: Path, registry: dict[str, Any], *args: str) -> Result:
    config = tmp_path / "config" / "deploy.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump({"service": "app", "image": "dhh/app",
                                      "servers": ["1.1.1.1"], "registry": registry,
                                      "builder": {"arch": "amd64"}}))
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=hunter2-secret\n")
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, [*args, "-c", str(config)])


def json_events(output: str) -> list[dict[str, Any]]:
    """The JSON lines of `--output json`, each valid against the shipped event schema."""
    schema = json.loads(schema_path().read_text())
    events = [json.loads(line) for line in output.splitlines()]
    for event in events:
        jsonschema.validate(event, schema)
    return events


def test_setup_starts_an_existing_local_registry(tmp_path: Path,
                                                 fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(tmp_path, LOCAL, "registry", "setup")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker --version", "docker start kamal-docker-registry"]


def test_setup_runs_the_local_registry_the_first_time(tmp_path: Path,
                                                      fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker start": (1, "Error response from daemon: No such container\n")})
    result = kdeploy(tmp_path, LOCAL, "registry", "setup")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker --version", "docker start kamal-docker-registry", RUN]
    assert "on 127.0.0.1:5555" in result.output


def test_setup_fails_when_the_registry_cannot_run(tmp_path: Path,
                                                  fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker start": (1, "No such container\n"),
                        "docker run": (125, "Bind for 127.0.0.1:5555 failed: port is allocated\n")})
    result = kdeploy(tmp_path, LOCAL, "registry", "setup")
    assert result.exit_code == 1
    assert "Starting the local registry failed (`docker run` exited 125)" in result.output
    assert "port is allocated" in result.output


def test_remove_stops_then_removes_the_local_registry(tmp_path: Path,
                                                      fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(tmp_path, LOCAL, "registry", "remove")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker stop kamal-docker-registry",
                                   "docker rm kamal-docker-registry"]


def test_remove_without_a_local_registry_is_fine_and_says_so(
        tmp_path: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker stop": (1, "Error response from daemon: No such container\n")})
    result = kdeploy(tmp_path, LOCAL, "registry", "remove")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker stop kamal-docker-registry"]
    assert "No local registry removed" in result.output


@pytest.mark.parametrize("command", ["setup", "remove"])
def test_skip_local_leaves_a_local_registry_alone(tmp_path: Path, fake_docker: FakeDocker,  # noqa: F811
                                                  command: str) -> None:
    result = kdeploy(tmp_path, LOCAL, "registry", command, "-L", "--output", "json")
    assert result.exit_code == 0, result.output
    assert fake_docker.calls() == []
    assert json_events(result.output)[-1]["type"] == "summary"


def test_setup_of_a_remote_registry_is_the_login(tmp_path: Path,
                                                 fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(tmp_path, REMOTE, "registry", "setup", "-R")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == [
        "docker login registry.example.com -u deployer --password-stdin"]
    assert "Logged in to registry.example.com locally" in result.output
    assert "hunter2" not in result.output


def test_remove_of_a_remote_registry_is_the_logout(tmp_path: Path,
                                                   fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(tmp_path, REMOTE, "registry", "remove", "-R")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker logout registry.example.com"]


@pytest.mark.parametrize(("command", "instead"), [("login", "setup"), ("logout", "remove")])
def test_login_and_logout_still_refuse_a_local_registry(
        tmp_path: Path, fake_docker: FakeDocker, command: str, instead: str) -> None:  # noqa: F811
    result = kdeploy(tmp_path, LOCAL, "registry", command)
    assert result.exit_code == 2
    assert f"Cannot use {command} command with a local registry" in result.output
    assert fake_docker.calls() == []
