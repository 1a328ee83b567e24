"""`push_image` step by step with a fake docker (git and the hooks are real).

Pins Kamal's order (pre-connect, docker checks, login, pre-build, clone, builder, build), the
clone of HEAD in `$TMPDIR/kamal-clones`, the classic-builder fallback and every failure message.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.config import Config, load_config
from kdeploy.errors import ConfigError, DeployFailed, UsageError
from kdeploy.image import BuildFailed, clone, local, local_docker, push_image
from kdeploy.run.kamal_hooks import HookContext, HookError

REPO = "registry.example.com/app"
CONFIG: dict[str, Any] = {
    "service": "app", "image": "app", "servers": ["10.0.0.1"],
    "registry": {"server": "registry.example.com", "username": "deployer",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
}
SECRETS = "KAMAL_REGISTRY_PASSWORD=hunter2-password\nNPM_TOKEN=npm-token-value\n"
real_run_local = local.run_local


@dataclass
class Call:
    """One docker command the fake saw."""

    argv: list[str]
    cwd: Path | None
    env: dict[str, str]
    stdin: str | None

    @property
    def line(self) -> str:
        return " ".join(self.argv)


class FakeDocker:
    """Stands in for `run_local`: docker commands are recorded and answered, git runs for real."""

    def __init__(self, log: Path, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.log = log
        self.answers = answers or {}
        self.calls: list[Call] = []

    def __call__(self, argv: list[str], *, cwd: Path | None = None,
                 env: dict[str, str] | None = None, stdin: str | None = None,
                 on_line: Any = None) -> local.LocalRun:
        if argv[0] == "git":
            return real_run_local(argv, cwd=cwd, env=env, stdin=stdin, on_line=on_line)
        self.calls.append(Call(argv, cwd, dict(env or {}), stdin))
        with self.log.open("a") as log:
            log.write(" ".join(argv[:3]) + "\n")
        command = " ".join(argv)
        returncode, output = next((answer for prefix, answer in self.answers.items()
                                   if command.startswith(prefix)), (0, ""))
        for text in output.splitlines():
            if on_line is not None:
                on_line(text)
        return local.LocalRun(tuple(argv), returncode, output)

    def login(self, registry: Any, username: str, password: str, env: Any = None) -> None:
        """Stands in for `local_docker.docker_login` (the same argv, the password on stdin)."""
        argv = ["docker", "login", *([registry.server] if registry.server else []), "-u",
                username, "--password-stdin"]
        done = self(argv, stdin=password, env=env)
        if not done.ok:
            raise DeployFailed(f"Local docker login to {registry.server} failed: {done.output}")

    def lines(self) -> list[str]:
        return [call.line for call in self.calls]

    def call(self, prefix: str) -> Call:
        (found,) = [call for call in self.calls if call.line.startswith(prefix)]
        return found


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), "-c", "user.email=t@example.com",
                           "-c", "user.name=t", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed project (config, secrets, Dockerfile) with its own TMPDIR for the clones."""
    directory = tmp_path / "project"
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text(SECRETS)
    (directory / "Dockerfile").write_text("FROM scratch\nCOPY version /version\n")
    (directory / "version").write_text("committed\n")
    git(directory, "init", "-q")
    git(directory, "add", "-A")
    git(directory, "commit", "-qm", "first")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return directory


def configure(project: Path, **changes: Any) -> None:
    (project / "config" / "deploy.yml").write_text(yaml.safe_dump({**CONFIG, **changes}))


def load(project: Path, version: str | None = "v1") -> Config:
    return load_config(project / "config" / "deploy.yml", version=version, environ={})


def push(project: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeDocker, *,
         no_cache: bool = False, context: HookContext | None = None,
         skip_hooks: bool = False, config: Config | None = None) -> list[str]:
    monkeypatch.setattr(local, "run_local", fake)
    monkeypatch.setattr(local_docker, "docker_login", fake.login)
    said: list[str] = []
    push_image(config or load(project), no_cache=no_cache, say=said.append,
               skip_hooks=skip_hooks, hook_context=context)
    return said


def hook(project: Path, name: str, log: Path, exit_code: int = 0) -> None:
    hooks = project / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    script = hooks / name
    script.write_text(f"#!/bin/sh\necho {name} >> {log}\necho hook-said\nexit {exit_code}\n")
    script.chmod(0o755)


def test_buildx_build_from_a_clone_of_head(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    (project / "version").write_text("uncommitted\n")
    fake = FakeDocker(tmp_path / "log")
    said = push(project, monkeypatch, fake)
    build_dir = clone.build_directory("app", project.resolve(), clone.git_repo(project))
    assert build_dir.parent.parent == tmp_path / "tmp" / "kamal-clones"
    assert fake.lines() == [
        "docker --version",
        "docker buildx version",
        "docker login registry.example.com -u deployer --password-stdin",
        "docker buildx inspect kamal-local-docker-container",
        "docker buildx build --output=type=registry --platform linux/amd64 --builder "
        f"kamal-local-docker-container -t {REPO}:v1 -t {REPO}:latest --label service=app "
        "--file Dockerfile .",
    ]
    assert fake.call("docker login").stdin == "hunter2-password"
    build = fake.call("docker buildx build")
    assert build.cwd == build_dir
    # Only committed files reach the build.
    assert (build_dir / "version").read_text() == "committed\n"
    assert "Building from a local git clone, so ignoring these uncommitted changes:\n" \
           " M version" in said
    assert f"Cloning repo into build directory `{build_dir}`..." in said
    assert said[-1] == f"Pushed {REPO}:v1 and {REPO}:latest"
    assert not any("hunter2" in text for text in said)


def test_second_push_resets_the_clone_to_the_new_head(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    push(project, monkeypatch, FakeDocker(tmp_path / "log"))
    (project / "version").write_text("second\n")
    git(project, "commit", "-qam", "second")
    said = push(project, monkeypatch, FakeDocker(tmp_path / "log"))
    build_dir = clone.build_directory("app", project.resolve(), clone.git_repo(project))
    assert f"Resetting local clone as `{build_dir}` already exists..." in said
    assert (build_dir / "version").read_text() == "second\n"


def test_a_broken_clone_is_deleted_and_cloned_again(project: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    build_dir = clone.build_directory("app", project.resolve(), clone.git_repo(project))
    build_dir.mkdir(parents=True)
    (build_dir / "junk").write_text("not a repository")
    said = push(project, monkeypatch, FakeDocker(tmp_path / "log"))
    assert any(text.startswith("Error preparing clone: Failed to clone repo:")
               and text.endswith(", deleting and retrying...") for text in said)
    assert (build_dir / "version").read_text() == "committed\n"
    assert not (build_dir / "junk").exists()


def test_context_builds_the_working_tree_and_warns(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    configure(project, builder={"arch": "amd64", "context": "."})
    (project / "version").write_text("uncommitted\n")
    fake = FakeDocker(tmp_path / "log")
    said = push(project, monkeypatch, fake)
    assert fake.call("docker buildx build").cwd == project.resolve()
    (warning,) = [text for text in said if text.startswith("Building with uncommitted changes:")]
    assert " M version" in warning.splitlines()
    assert not (tmp_path / "tmp" / "kamal-clones").exists()


def test_outside_git_the_project_directory_is_built(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "plain"
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text(SECRETS)
    (directory / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    fake = FakeDocker(tmp_path / "log")
    push(directory, monkeypatch, fake)
    assert fake.call("docker buildx build").cwd == directory.resolve()


def test_missing_builder_is_created(project: Path, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "log", {
        "docker buildx inspect": (1, 'ERROR: no builder "kamal-local-docker-container" found')})
    said = push(project, monkeypatch, fake, no_cache=True)
    assert "Missing compatible builder, so creating a new one first" in said
    assert fake.lines()[3:6] == [
        "docker buildx inspect kamal-local-docker-container",
        "docker buildx rm kamal-local-docker-container",
        "docker buildx create --name kamal-local-docker-container --driver=docker-container",
    ]
    assert fake.lines()[-1].endswith("--file Dockerfile --no-cache .")


def test_build_secrets_travel_as_environment(project: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    configure(project, builder={"arch": "amd64", "secrets": ["NPM_TOKEN"]})
    fake = FakeDocker(tmp_path / "log", {"docker buildx build": (0, "echo npm-token-value\n")})
    said = push(project, monkeypatch, fake)
    build = fake.call("docker buildx build")
    assert build.env == {"NPM_TOKEN": "npm-token-value"}
    assert "--secret id=NPM_TOKEN,env=NPM_TOKEN" in build.line
    assert "npm-token-value" not in build.line
    assert "    echo [REDACTED]" in said


def test_without_buildx_the_classic_builder_builds_and_pushes_each_tag(
        project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "log", {"docker buildx version": (1, "unknown command")})
    said = push(project, monkeypatch, fake)
    assert fake.lines()[3:] == [
        f"docker build --platform linux/amd64 -t {REPO}:v1 -t {REPO}:latest "
        "--label service=app --file Dockerfile .",
        f"docker push {REPO}:v1",
        f"docker push {REPO}:latest",
    ]
    assert fake.call("docker build ").env == {"DOCKER_BUILDKIT": "0"}
    assert any("buildx plugin is not installed locally" in text for text in said)


def test_without_buildx_buildx_only_settings_are_refused(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    configure(project, builder={"arch": "amd64", "secrets": ["NPM_TOKEN"]})
    fake = FakeDocker(tmp_path / "log", {"docker buildx version": (1, "unknown command")})
    with pytest.raises(UsageError, match=r"^builder/secrets need the docker buildx plugin"):
        push(project, monkeypatch, fake)
    assert not any("build " in line for line in fake.lines())


def test_docker_missing(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "log", {"docker --version": (127, "docker: command not found")})
    with pytest.raises(UsageError, match=r"^Docker is not installed locally$"):
        push(project, monkeypatch, fake)


@pytest.mark.parametrize(("verbosity", "shown_lines"), [("info", 1), ("error", 15)])
def test_failed_build_shows_the_tail(project: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path, verbosity: str, shown_lines: int) -> None:
    output = "".join(f"step {n}\n" for n in range(30)) + "ERROR: failed to solve: boom\n"
    fake = FakeDocker(tmp_path / "log", {"docker buildx build": (1, output)})
    context = HookContext(config=load(project), command="build", hosts=(),
                          verbosity=verbosity)
    with pytest.raises(BuildFailed) as raised:
        push(project, monkeypatch, fake, context=context)
    first, *tail = raised.value.message.splitlines()
    assert first == "Building and pushing the image failed (`docker buildx build` exited 1):"
    assert len(tail) == shown_lines
    assert tail[-1] == "ERROR: failed to solve: boom"
    assert raised.value.exit_code == 1


def test_failed_login_and_push(project: Path, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "log", {"docker login": (1, "unauthorized: wrong password")})
    with pytest.raises(DeployFailed, match=r"^Local docker login to registry\.example\.com"):
        push(project, monkeypatch, fake)
    fake = FakeDocker(tmp_path / "log", {"docker buildx version": (1, ""),
                                         f"docker push {REPO}:latest": (1, "denied")})
    with pytest.raises(BuildFailed, match=f"^Pushing {REPO}:latest failed"):
        push(project, monkeypatch, fake)


def test_missing_dockerfile(project: Path, monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    configure(project, builder={"arch": "amd64", "dockerfile": "Dockerfile.prod"})
    fake = FakeDocker(tmp_path / "log")
    with pytest.raises(UsageError, match=r"^Missing Dockerfile.prod \(builder/dockerfile"):
        push(project, monkeypatch, fake)
    assert not any("build " in line for line in fake.lines())


def test_hooks_run_in_kamals_order(project: Path, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    log = tmp_path / "log"
    hook(project, "pre-connect", log)
    hook(project, "pre-build", log)
    said = push(project, monkeypatch, FakeDocker(log))
    assert log.read_text().splitlines() == [
        "pre-connect", "docker --version", "docker buildx version",
        "docker login registry.example.com", "pre-build", "docker buildx inspect",
        "docker buildx build"]
    assert "--> Running hook pre-build (.kamal/hooks/pre-build)" in said


def test_failing_pre_build_hook_stops_before_the_build(project: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    log = tmp_path / "log"
    hook(project, "pre-build", log, exit_code=1)
    fake = FakeDocker(log)
    with pytest.raises(HookError, match=r"^Hook `pre-build` failed:"):
        push(project, monkeypatch, fake)
    assert not any("build " in line for line in fake.lines())


def test_skip_hooks(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = tmp_path / "log"
    hook(project, "pre-connect", log, exit_code=1)
    push(project, monkeypatch, FakeDocker(log), skip_hooks=True)
    assert "pre-connect" not in log.read_text()


def test_local_registry_is_started_instead_of_a_login(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    configure(project, registry={"server": "localhost:5555"})
    fake = FakeDocker(tmp_path / "log", {"docker start": (1, "No such container")})
    push(project, monkeypatch, fake)
    assert fake.lines()[2:4] == [
        "docker start kamal-docker-registry",
        "docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3"]
    assert not any(line.startswith("docker login") for line in fake.lines())


def test_no_version(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "log")
    with pytest.raises(ConfigError, match="no version"):
        push(project, monkeypatch, fake, config=replace(load(project), version=None))
    assert fake.calls == []


@pytest.mark.parametrize(("builder", "message"), [
    ({"arch": ["amd64", "arm64"], "remote": "ssh://app@builder"}, "remote builder"),
    ({"arch": "amd64", "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]}},
     "buildpacks"),
    ({"arch": "amd64", "driver": "cloud org/builder"}, "Docker Build Cloud"),
])
def test_builders_kdeploy_cannot_drive_are_refused(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, builder: dict[str, Any],
                                                   message: str) -> None:
    configure(project, builder=builder)
    fake = FakeDocker(tmp_path / "log", {"docker info": (0, "x86_64\n")})
    with pytest.raises(UsageError, match=message):
        push(project, monkeypatch, fake)
    assert not any("build " in line for line in fake.lines())


def test_remote_builder_is_not_needed_for_the_local_arch(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    configure(project, builder={"arch": "amd64", "remote": "ssh://app@builder"})
    fake = FakeDocker(tmp_path / "log", {"docker info": (0, "x86_64\n")})
    push(project, monkeypatch, fake)
    assert "--builder kamal-local-docker-container" in fake.call("docker buildx build").line


def test_repository_without_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "fresh"
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text(SECRETS)
    git(directory, "init", "-q")
    with pytest.raises(clone.CloneError, match="has no commit yet"):
        push(directory, monkeypatch, FakeDocker(tmp_path / "log"))
