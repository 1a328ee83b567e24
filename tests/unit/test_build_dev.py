"""`kdeploy build dev` and `build push --output TYPE` against a fake docker on PATH.

Kamal 2.11's `build dev`: the check image listing the context, warnings for modified and
untracked files in it, then `docker buildx build --output=type=docker … -dirty` tags, no login.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from fake_docker import FakeDocker, fake_docker  # noqa: F401  (the fixture)

import kdeploy.cli as cli_package
from kdeploy.events import schema_path

CONFIG: dict[str, Any] = {
    "service": "app", "image": "dhh/app", "servers": ["1.1.1.1"],
    "registry": {"username": "dhh", "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
}
DEV = ("docker buildx build --output=type=docker --platform linux/amd64 "
       "--builder kamal-local-docker-container -t dhh/app:v1-dirty -t dhh/app:latest-dirty "
       "--label service=app --file Dockerfile .")
CHECK = "docker buildx build -t=kamal-local-build-check -f="


def git(directory: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(directory), "-c", "user.email=t@example.com",
                    "-c", "user.name=t", *args], capture_output=True, check=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "project"
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=hunter2-secret\n")
    (directory / "Dockerfile").write_text("FROM scratch\n")
    (directory / "app.rb").write_text("committed\n")
    git(directory, "init", "-q")
    git(directory, "add", "-A")
    git(directory, "commit", "-qm", "first")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return directory


def kdeploy(project: Path, *args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, [*args, "-c", str(project / "config" / "deploy.yml"),
                                                "--version", "v1"])


def json_events(output: str) -> list[dict[str, Any]]:
    """The JSON lines of `--output json`, each valid against the shipped event schema."""
    schema = json.loads(schema_path().read_text())
    events = [json.loads(line) for line in output.splitlines()]
    for event in events:
        jsonschema.validate(event, schema)
    return events


def test_dev_builds_dirty_tags_into_the_local_docker_without_login(
        project: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(project, "build", "dev")
    assert result.exit_code == 0, result.output
    lines = fake_docker.lines()
    assert lines[:2] == ["docker --version", "docker buildx version"]
    assert lines[2].startswith(CHECK) and lines[2].endswith(" .")
    assert lines[3:] == ["docker run --rm kamal-local-build-check", DEV]
    assert "Built dhh/app:v1-dirty and dhh/app:latest-dirty" in result.output
    assert "hunter2" not in result.output
    assert "WARNING" not in result.output


def test_dev_warns_about_changed_and_untracked_files_the_build_sees(
        project: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    (project / "app.rb").write_text("changed\n")
    (project / "new.rb").write_text("new\n")
    (project / "ignored.log").write_text("not in the context\n")
    # The check image lists the context: ignored.log is not in it (.dockerignore).
    fake_docker.answer({"docker run --rm kamal-local-build-check": (
        0, "Dockerfile\napp.rb\nnew.rb\nconfig/deploy.yml\n")})
    result = kdeploy(project, "build", "dev")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "WARNING: Files with uncommitted changes will be present in the dev container:\n" \
           "  app.rb\n" in out
    assert "WARNING: Untracked files will be present in the dev container:\n  new.rb\n" in out
    assert "ignored.log" not in out


def test_dev_output_and_no_cache_are_kamals(project: Path,
                                            fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(project, "build", "dev", "--output", "registry", "--no-cache",
                     "--output", "json")
    assert result.exit_code == 0, result.output
    summary = json_events(result.output)[-1]
    assert (summary["type"], summary["exit_code"]) == ("summary", 0)
    assert fake_docker.lines()[-1] == (DEV.replace("type=docker", "type=registry")
                                       .replace(" .", " --no-cache ."))


def test_a_failing_check_image_stops_before_the_build(project: Path,
                                                      fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({CHECK: (1, "ERROR: failed to solve: busybox: not found\n")})
    result = kdeploy(project, "build", "dev")
    assert result.exit_code == 1
    assert "Building the check image failed" in result.output
    assert not any(line.startswith("docker buildx build --output") for line in fake_docker.lines())


def test_dev_without_buildx_builds_classically_only_into_docker(
        project: Path, fake_docker: FakeDocker) -> None:  # noqa: F811
    fake_docker.answer({"docker buildx": (1, "docker: 'buildx' is not a docker command.\n")})
    refused = kdeploy(project, "build", "dev", "--output", "registry")
    assert refused.exit_code == 2
    assert "--output registry needs the docker buildx plugin" in refused.output
    result = kdeploy(project, "build", "dev")
    assert result.exit_code == 0, result.output
    assert "then `docker push`" not in result.output
    assert any(line.startswith("docker build -t=kamal-local-build-check -f=")
               for line in fake_docker.lines())
    assert fake_docker.lines()[-1] == (
        "docker build --platform linux/amd64 -t dhh/app:v1-dirty -t dhh/app:latest-dirty "
        "--label service=app --file Dockerfile .")


@pytest.mark.parametrize(("outputs", "export", "json_lines"), [
    (["--output", "docker"], "docker", False),
    (["--output", "json", "--output", "docker"], "docker", True),
    (["--output", "local,dest=out"], "local,dest=out", False),
    (["--output", "json"], "registry", True),
])
def test_push_output_is_kamals_export_type_unless_human_or_json(
        project: Path, fake_docker: FakeDocker, outputs: list[str],  # noqa: F811
        export: str, json_lines: bool) -> None:
    result = kdeploy(project, "build", "push", *outputs)
    assert result.exit_code == 0, result.output
    builds = [line for line in fake_docker.lines() if line.startswith("docker buildx build --o")]
    assert builds == [f"docker buildx build --output=type={export} --platform linux/amd64 "
                      "--builder kamal-local-docker-container -t dhh/app:v1 -t dhh/app:latest "
                      "--label service=app --file Dockerfile ."]
    events = result.output.splitlines()
    assert all(line.startswith("{") for line in events) == json_lines
    if json_lines:
        assert json_events(result.output)[-1]["type"] == "summary"


def test_push_output_refuses_a_type_prefix(project: Path,
                                           fake_docker: FakeDocker) -> None:  # noqa: F811
    result = kdeploy(project, "build", "push", "--output", "type=docker")
    assert result.exit_code == 2
    assert "give the export type alone" in result.output
    assert fake_docker.calls() == []
