"""Builder: every key of the builder section."""

from __future__ import annotations

from config_helpers import variant


def test_builder(load):
    builder = load(variant(image="dhh/app", registry={"username": "u", "password": "p"}, builder={
        "arch": ["amd64", "arm64"], "remote": "ssh://b", "cache": {"type": "gha"},
        "context": ".", "dockerfile": "D", "target": "t", "args": {"A": 1},
        "secrets": ["S"], "ssh": "default", "driver": "docker", "provenance": "mode=max",
        "sbom": True,
    })).builder
    assert builder.arch == ("amd64", "arm64")
    assert (builder.remote, builder.cache_type, builder.context, builder.dockerfile) == (
        "ssh://b", "gha", ".", "D")
    assert (dict(builder.args), builder.secrets, builder.driver, builder.sbom) == (
        {"A": "1"}, ("S",), "docker", True)
    assert not builder.git_clone


def test_buildpacks(load):
    builder = load(variant(builder={"arch": "amd64", "pack": {
        "builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]}})).builder
    assert (builder.arch, builder.pack_builder, builder.pack_buildpacks) == (
        ("amd64",), "heroku/builder:24", ("heroku/ruby",))
