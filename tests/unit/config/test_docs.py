"""The reference docs: one per section, and their examples are the validation schema."""

from __future__ import annotations

import pytest

from kdeploy.config.docs import SECTIONS, doc_text, example


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_has_a_commented_example(section):
    assert doc_text(section).startswith("#")
    assert isinstance(example(section), dict)


def test_documented_root_example_is_valid(load):
    # The documented values of each section, put together, must pass our own validation.
    root = example("configuration")
    config = {
        **{k: v for k, v in root.items() if v != "..." and k not in ("minimum_version",)},
        "primary_role": "workers",
        "servers": example("role")["servers"] | {"workers": {
            **example("role")["servers"]["workers"], "logging": example("logging")["logging"],
            "env": {"clear": {"A": "b"}}, "proxy": {"app_port": 3000},
        }},
        "registry": example("registry")["registry"],
        "env": example("env")["env"],
        "ssh": {k: v for k, v in example("ssh")["ssh"].items() if k != "proxy_command"},
        "sshkit": example("sshkit")["sshkit"],
        "boot": example("boot")["boot"],
        "logging": example("logging")["logging"],
        "aliases": example("alias")["aliases"],
        "x-kdeploy": {**example("x-kdeploy")["x-kdeploy"], "proxy": {"engine": "kamal-proxy"}},
        "builder": {**example("builder")["builder"], "driver": "docker"},
        "require_destination": False,
    }
    config["servers"]["workers"].pop("proxy")
    loaded = load(config)
    assert loaded.primary_role.name == "workers"
