"""`kdeploy build create|remove|details` against a fake docker on PATH that records its argv.

The argv are Kamal 2.11's (`commands/builder/local.rb`, `builder/base.rb#info`).
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

BASE: dict[str, Any] = {
    "service": "app", "image": "dhh/app", "servers": ["1.1.1.1"],
    "registry": {"username": "dhh", "password": "secret"}, "builder": {"arch": "amd64"},
}


def project(tmp_path: Path, **overrides: Any) -> Path:
    config = tmp_path / "config" / "deploy.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump({**BASE, **overrides}))
    return config


def kdeploy(config: Path, *args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, [*args, "-c", str(config)])


def json_events(output: str) -> list[dict[str, Any]]:
    """The JSON lines of `--output json`, each valid against the shipped event schema."""
    schema = json.loads(schema_path().read_text())
    events = [json.loads(line) for line in output.splitlines()]
    for event in events:
        jsonschema.validate(event, schema)
    return events


@pytest.mark.parametrize(("overrides", "expected"), [
    ({}, "docker buildx create --name kamal-local-docker-container --driver=docker-container"),
    ({"builder": {"arch": "amd64", "driver": "kubernetes"}},
     "docker buildx create --name kamal-local-kubernetes --driver=kubernetes"),
    ({"registry": {"server": "localhost:5555"}},
     "docker buildx create --name kamal-local-registry-docker-container "
     "--driver=docker-container --driver-opt network=host"),
])
def test_create_is_kamals_buildx_create(tmp_path: Path, fake_docker: FakeDocker,  # noqa: F811
                                        overrides: dict[str, Any], expected: str) -> None:
    result = kdeploy(project(tmp_path, **overrides), "build", "create")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == [expected]
    assert "Created builder kamal-local-" in result.output


def test_remove_is_kamals_buildx_rm(tmp_path: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(project(tmp_path), "build", "remove")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker buildx rm kamal-local-docker-container"]


@pytest.mark.parametrize("command", ["create", "remove"])
def test_the_docker_driver_has_no_builder_to_create_or_remove(
        tmp_path: Path, fake_docker: FakeDocker, command: str) -> None:  # noqa: F811
    config = project(tmp_path, builder={"arch": "amd64", "driver": "docker"})
    result = kdeploy(config, "build", command)
    assert result.exit_code == 0, result.output
    assert fake_docker.calls() == []
    assert f"no builder to {command}" in result.output


def test_a_failing_create_exits_1_with_dockers_message(tmp_path: Path,
                                                       fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker buildx create": (
        1, 'ERROR: existing instance for "kamal-local-docker-container" but no append mode\n')})
    result = kdeploy(project(tmp_path), "build", "create")
    assert result.exit_code == 1
    assert "Couldn't create builder" in result.output
    assert "existing instance" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("builder", "words"), [
    ({"arch": "amd64", "remote": "ssh://root@192.168.0.1"}, "hybrid builder (builder/remote)"),
    ({"arch": "amd64", "remote": "ssh://root@192.168.0.1", "local": False},
     "remote builder (builder/remote)"),
    ({"arch": "amd64", "driver": "cloud org/name"}, "cloud builder (builder/driver)"),
])
def test_builders_kdeploy_cannot_set_up_are_refused_before_docker_runs(
        tmp_path: Path, fake_docker: FakeDocker, builder: dict[str, Any],  # noqa: F811
        words: str) -> None:
    result = kdeploy(project(tmp_path, builder=builder), "build", "create")
    assert result.exit_code == 2
    assert words in result.output
    assert fake_docker.calls() == []


def test_details_names_the_builder_then_lists_contexts_and_builders(
        tmp_path: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker context ls": (0, "default *  unix:///var/run/docker.sock\n"),
                        "docker buildx ls": (0, "kamal-local-docker-container  running\n")})
    result = kdeploy(project(tmp_path), "build", "details")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker context ls", "docker buildx ls"]
    assert result.output.splitlines() == ["Builder: local", "default *  unix:///var/run/docker.sock",
                                          "kamal-local-docker-container  running"]


def test_details_stops_at_the_first_failing_command(tmp_path: Path,
                                                    fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker context ls": (1, "Cannot connect to the Docker daemon\n")})
    result = kdeploy(project(tmp_path), "build", "details")
    assert result.exit_code == 1
    assert fake_docker.lines() == ["docker context ls"]
    assert "Cannot connect to the Docker daemon" in result.output


def test_details_of_a_remote_builder_runs_both_as_kamals_chain(
        tmp_path: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker context ls": (1, "context list failed\n"),
                        "docker buildx ls": (0, "kamal-remote-ssh---root-1-1-1-1\n")})
    config = project(tmp_path, builder={"arch": "amd64", "remote": "ssh://root@1.1.1.1"})
    result = kdeploy(config, "build", "details")
    assert result.exit_code == 0, result.output
    assert fake_docker.lines() == ["docker context ls", "docker buildx ls"]
    assert result.output.splitlines()[0] == "Builder: hybrid"
    assert "kamal-remote-ssh---root-1-1-1-1" in result.output


def test_create_in_json_ends_with_a_summary(tmp_path: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(project(tmp_path), "build", "create", "--output", "json")
    assert result.exit_code == 0, result.output
    events = json_events(result.output)
    assert events[-1]["type"] == "summary"
    assert events[-1]["exit_code"] == 0
