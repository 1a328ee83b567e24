"""The argv lists `build push` runs, pinned against Kamal 2.11's `test/commands/builder_test.rb`.

Kamal's strings are shell lines (`--label service="app" … . 2>&1`); kdeploy passes the same
words as argv without a shell, so the quotes and the redirection are not part of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.config import Config, load_config
from kdeploy.image import commands

BASE: dict[str, Any] = {
    "service": "app", "image": "dhh/app", "servers": ["1.1.1.1"],
    "registry": {"username": "dhh", "password": "secret"}, "builder": {"arch": "amd64"},
}
PUSH = ("docker buildx build --output=type=registry --platform linux/amd64 "
        "--builder kamal-local-docker-container -t dhh/app:123 -t dhh/app:latest")


def make_config(tmp_path: Path, secrets: str = "", destination: str | None = None,
                **overrides: Any) -> Config:
    """Load BASE with `overrides` (a `builder` override is merged into BASE's builder)."""
    raw = {**BASE, **overrides}
    raw["builder"] = {**BASE["builder"], **overrides.get("builder", {})}
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(raw))
    if destination:
        (tmp_path / "config" / f"deploy.{destination}.yml").write_text("{}\n")
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text(secrets)
    return load_config(config_file, destination, version="123", environ={})


def line(argv: list[str]) -> str:
    return " ".join(argv)


@pytest.mark.parametrize(("builder", "expected"), [
    ({}, f"{PUSH} --label service=app --file Dockerfile ."),
    ({"cache": {"type": "gha"}},
     f"{PUSH} --cache-to type=gha --cache-from type=gha --label service=app --file Dockerfile ."),
    ({"args": {"a": 1, "b": 2}},
     f"{PUSH} --label service=app --build-arg a=1 --build-arg b=2 --file Dockerfile ."),
    ({"context": ".."}, f"{PUSH} --label service=app --file Dockerfile .."),
    ({"context": "./foo"}, f"{PUSH} --label service=app --file Dockerfile ./foo"),
    ({"provenance": "mode=max"},
     f"{PUSH} --label service=app --file Dockerfile --provenance mode=max ."),
    ({"provenance": False}, f"{PUSH} --label service=app --file Dockerfile --provenance false ."),
    ({"sbom": True}, f"{PUSH} --label service=app --file Dockerfile --sbom true ."),
    ({"target": "prod", "ssh": "default=$SSH_AUTH_SOCK", "dockerfile": "Dockerfile.xyz"},
     f"{PUSH} --label service=app --file Dockerfile.xyz --target prod "
     "--ssh default=$SSH_AUTH_SOCK ."),
])
def test_buildx_push_is_kamals_local_push(tmp_path: Path, builder: dict[str, Any],
                                          expected: str) -> None:
    assert line(commands.buildx_push(make_config(tmp_path, builder=builder))) == expected


def test_no_cache_comes_before_the_context(tmp_path: Path) -> None:
    argv = commands.buildx_push(make_config(tmp_path), no_cache=True)
    assert line(argv) == f"{PUSH} --label service=app --file Dockerfile --no-cache ."


def test_build_secrets_name_the_variable_not_the_value(tmp_path: Path) -> None:
    config = make_config(tmp_path, secrets="a=foo-value\nb=bar-value\n",
                         builder={"secrets": ["a", "b"]})
    argv = commands.buildx_push(config)
    assert line(argv) == (f"{PUSH} --label service=app --secret id=a,env=a "
                          "--secret id=b,env=b --file Dockerfile .")
    assert not any("value" in word for word in argv)


def test_registry_cache_defaults_to_the_build_cache_image(tmp_path: Path) -> None:
    config = make_config(tmp_path, registry={"server": "registry.example.com", "username": "u",
                                             "password": "p"},
                         builder={"cache": {"type": "registry", "options": "mode=max"}})
    assert commands.cache_options(config) == [
        "--cache-to", "type=registry,ref=registry.example.com/dhh/app-build-cache,mode=max",
        "--cache-from", "type=registry,ref=registry.example.com/dhh/app-build-cache"]


def test_gha_cache_from_keeps_only_the_connection_options(tmp_path: Path) -> None:
    config = make_config(tmp_path, builder={"cache": {
        "type": "gha", "options": "mode=max,scope=app,url=http://cache"}})
    assert commands.cache_options(config) == [
        "--cache-to", "type=gha,mode=max,scope=app,url=http://cache",
        "--cache-from", "type=gha,scope=app,url=http://cache"]


def test_docker_driver_has_no_builder_and_multiple_arches_one_platform(tmp_path: Path) -> None:
    docker = make_config(tmp_path, builder={"driver": "docker"})
    assert "--builder" not in commands.buildx_push(docker)
    assert commands.inspect_builder(docker) is None
    multi = make_config(tmp_path, builder={"arch": ["amd64", "arm64"]})
    assert commands.platform_options(multi) == ["--platform", "linux/amd64,linux/arm64"]


def test_destination_tags_latest_with_its_name(tmp_path: Path) -> None:
    config = make_config(tmp_path, destination="staging")
    assert commands.image_tags(config) == ["dhh/app:123", "dhh/app:latest-staging"]


def test_builder_setup_commands(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert line(commands.inspect_builder(config) or []) == (
        "docker buildx inspect kamal-local-docker-container")
    assert line(commands.create_builder(config)) == (
        "docker buildx create --name kamal-local-docker-container --driver=docker-container")
    assert line(commands.remove_builder(config)) == "docker buildx rm kamal-local-docker-container"
    local = make_config(tmp_path, registry={"server": "localhost:5555"})
    assert line(commands.create_builder(local)) == (
        "docker buildx create --name kamal-local-registry-docker-container "
        "--driver=docker-container --driver-opt network=host")
    assert line(commands.run_local_registry(5555)) == (
        "docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3")


@pytest.mark.parametrize("message", ["ERROR: no builder \"x\" found", "context not found",
                                     "no compatible builder", "builder x does not exist"])
def test_missing_builder_messages(message: str) -> None:
    assert commands.MISSING_BUILDER.search(message)


def test_legacy_build_has_the_same_tags_label_and_args(tmp_path: Path) -> None:
    config = make_config(tmp_path, builder={"args": {"a": 1}, "target": "prod"})
    assert line(commands.legacy_build(config, no_cache=True)) == (
        "docker build --platform linux/amd64 -t dhh/app:123 -t dhh/app:latest "
        "--label service=app --build-arg a=1 --file Dockerfile --target prod --no-cache .")
    assert commands.legacy_push("dhh/app:123") == ["docker", "push", "dhh/app:123"]


def test_needs_buildx_names_what_the_classic_builder_cannot_do(tmp_path: Path) -> None:
    assert commands.needs_buildx(make_config(tmp_path)) == []
    config = make_config(tmp_path, secrets="a=x\n", builder={
        "arch": ["amd64", "arm64"], "secrets": ["a"], "cache": {"type": "gha"}})
    assert commands.needs_buildx(config) == [
        "builder/arch (more than one)", "builder/cache", "builder/secrets"]


def test_login_reads_the_password_from_stdin() -> None:
    assert commands.login("ghcr.io", "dhh") == [
        "docker", "login", "ghcr.io", "-u", "dhh", "--password-stdin"]
    assert commands.login(None, "dhh") == ["docker", "login", "-u", "dhh", "--password-stdin"]


@pytest.mark.parametrize(("info", "arch"), [("x86_64\n", "amd64"), ("aarch64", "arm64"),
                                            ("s390x", "s390x")])
def test_docker_arch(info: str, arch: str) -> None:
    assert commands.docker_arch(info) == arch


def test_remote_arches_are_those_this_machine_cannot_build(tmp_path: Path) -> None:
    remote = {"remote": "ssh://app@host", "arch": ["amd64", "arm64"]}
    assert commands.remote_arches(make_config(tmp_path, builder=remote), "amd64") == ("arm64",)
    local_only = {"remote": "ssh://app@host", "arch": ["amd64"]}
    assert commands.remote_arches(make_config(tmp_path, builder=local_only), "amd64") == ()
    no_local = {**remote, "local": False}
    assert commands.remote_arches(make_config(tmp_path, builder=no_local), "amd64") == (
        "amd64", "arm64")


def test_redacted_hides_build_arg_values() -> None:
    assert commands.redacted(["docker", "build", "--build-arg", "TOKEN=abc", "--build-arg",
                              "BARE", "."]) == [
        "docker", "build", "--build-arg", "TOKEN=[REDACTED]", "--build-arg", "BARE", "."]
