"""The repository root is the collection kdeploy.deploy: Galaxy builds it and Ansible reads it.

The tarball holds the Ansible side only (no Python frontend, tests, benches, docs, wheels), and
installed into an empty collections path it lists kdeploy's modules and roles to ansible-doc.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from playbook_support import REPO, require_tool

ROLES = ["accessory", "app", "app_ops", "audit", "bootstrap", "lock", "proxy", "prune", "pull",
         "registry", "settle"]
MODULES = ["accessory_boot", "container_state", "docker_network", "docker_run", "proxy_route",
           "release", "settle"]
MEMBERS = ["MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "meta/runtime.yml",
           "playbooks/app.yml", "roles/app/meta/argument_specs.yml",
           "plugins/modules/release.py", "plugins/module_utils/docker_api.py",
           "plugins/lookup/erb.py"]
NOT_SHIPPED_DIRS = ("frontend/", "tests/", "bench/", "docs/", "examples/", ".ci/", ".venv/")
NOT_SHIPPED_SUFFIXES = (".whl", ".pyc", ".tar.gz")


def galaxy_version() -> str:
    return yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    galaxy = require_tool("ansible-galaxy")
    out = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [galaxy, "collection", "build", "--output-path", str(out)],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    built = out / f"kdeploy-deploy-{galaxy_version()}.tar.gz"
    assert built.is_file(), sorted(out.iterdir())
    return built


def test_the_tarball_holds_the_ansible_side_only(tarball: Path) -> None:
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert [member for member in MEMBERS if member not in names] == []
    assert [name for name in names
            if name.startswith(NOT_SHIPPED_DIRS) or name.endswith(NOT_SHIPPED_SUFFIXES)
            or "__pycache__" in name] == []
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (
        "kdeploy", "deploy", galaxy_version())
    assert "community.docker" in info["dependencies"]


def test_installed_into_an_empty_path_ansible_doc_lists_every_module_and_role(
        tarball: Path, tmp_path: Path) -> None:
    galaxy, doc = require_tool("ansible-galaxy"), require_tool("ansible-doc")
    installed = subprocess.run(
        [galaxy, "collection", "install", "--no-deps", "-p", str(tmp_path), str(tarball)],
        capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(tmp_path)}
    listed = subprocess.run([doc, "-t", "role", "-l", "--json", "kdeploy.deploy"],
                            env=env, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert sorted(json.loads(listed.stdout)) == [f"kdeploy.deploy.{role}" for role in ROLES]
    modules = subprocess.run([doc, "-l", "--json", "kdeploy.deploy"],
                             env=env, capture_output=True, text=True, check=False)
    assert modules.returncode == 0, modules.stdout + modules.stderr
    assert sorted(json.loads(modules.stdout)) == [f"kdeploy.deploy.{name}" for name in MODULES]
