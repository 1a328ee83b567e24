"""The example project: a Kamal config for the sandbox hosts."""

from __future__ import annotations

from pathlib import Path

import yaml

from kdeploy.sandbox import example

ADDRESSES = ["10.213.7.11", "10.213.7.12", "10.213.7.13"]


def test_example_config(tmp_path: Path) -> None:
    path = example.write_example(tmp_path, "10.213.7.1:5000", "/s/ssh/id_ed25519", ADDRESSES)
    config = yaml.safe_load(path.read_text())
    assert config["service"] == "kdeploy-demo" and config["image"] == "kdeploy-demo"
    assert config["servers"]["web"] == {"hosts": ADDRESSES[:2], "proxy": False}
    assert config["servers"]["job"]["hosts"] == ADDRESSES[2:]
    assert config["registry"] == {"server": "10.213.7.1:5000", "username": "sandbox",
                                  "password": ["KAMAL_REGISTRY_PASSWORD"]}
    assert config["ssh"]["user"] == "root" and config["ssh"]["keys"] == ["/s/ssh/id_ed25519"]
    assert config["builder"] == {"arch": "amd64"}
    db = config["accessories"]["db"]
    assert db["image"] == "10.213.7.1:5000/kdeploy-db:1" and db["host"] == ADDRESSES[0]
    assert db["directories"] == ["data:/data"]
    secrets = (tmp_path / ".kamal" / "secrets").read_text()
    assert secrets.startswith("KAMAL_REGISTRY_PASSWORD=")


def test_single_host_sandbox_still_has_every_role(tmp_path: Path) -> None:
    config = example.deploy_config("r:5000", "/k", ADDRESSES[:1])
    assert config["servers"]["web"]["hosts"] == ADDRESSES[:1]
    assert config["servers"]["job"]["hosts"] == ADDRESSES[:1]


def test_usage_names_the_directory(tmp_path: Path) -> None:
    assert f"cd {tmp_path} && kdeploy setup -P --version v1" in example.usage(tmp_path)
