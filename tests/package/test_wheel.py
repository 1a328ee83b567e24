"""The wheel: kdeploy and its two collections, in a fresh venv that never saw the source tree.

The venv is made the README's way (`pip install` of the wheel, dependencies from pip's index or
cache), so what these tests see is what a user gets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "configs" / "deploy_founding_case.yml"
VERSION = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the working tree with build isolation (as pip would)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    return next(dist.glob("kdeploy-*.whl"))


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its declared dependencies, nothing else."""
    venv = tmp_path_factory.mktemp("wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                                "--disable-pip-version-check", str(wheel)],
                               capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    return venv


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def _run(venv: Path, cwd: Path, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of the venv's commands as a user would: no ANSIBLE_* settings, an empty HOME."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(cwd), PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}")
    return subprocess.run([str(venv / "bin" / command), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def test_the_wheel_holds_the_collections_and_not_the_ansible_bundle(wheel: Path) -> None:
    assert wheel.name == f"kdeploy-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"kdeploy-{VERSION}.dist-info/METADATA").decode()
    ours = "ansible_collections/kdeploy/deploy/"
    assert {f"{ours}galaxy.yml", f"{ours}meta/runtime.yml",
            f"{ours}plugins/modules/release.py", f"{ours}playbooks/app.yml"} <= names
    assert any(name.startswith(f"{ours}roles/") for name in names)
    docker = "ansible_collections/community/docker/"
    assert {f"{docker}MANIFEST.json", f"{docker}COPYING",
            "ansible_collections/community/library_inventory_filtering_v1/MANIFEST.json"} <= names
    # One copy: no loose roles or playbooks inside the Python package, no Python side in ours.
    assert not [name for name in names if name.startswith(("kdeploy/roles", "kdeploy/playbooks",
                                                           f"{ours}frontend", f"{ours}tests"))]
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)(.*)$", metadata, re.MULTILINE)
    runtime = {name.lower() for name, rest in requires if "extra ==" not in rest}
    assert runtime == {"ansible-core", "ansible-runner", "pyyaml", "jinja2", "click", "psutil",
                       "cryptography"}


def test_ansible_galaxy_finds_both_collections_with_no_setting(wheel_venv: Path,
                                                               tmp_path: Path) -> None:
    listed = _run(wheel_venv, tmp_path, "ansible-galaxy", "collection", "list")
    assert listed.returncode == 0, listed.stderr
    section = listed.stdout.split(f"# {_site_packages(wheel_venv) / 'ansible_collections'}")[1]
    versions = dict(re.findall(r"^([a-z0-9_]+\.[a-z0-9_]+)\s+(\S+)\s*$", section, re.MULTILINE))
    assert versions["kdeploy.deploy"] == VERSION
    assert versions["community.docker"].startswith("4.")
    assert "community.library_inventory_filtering_v1" in versions


def test_ansible_doc_reads_our_module_and_community_docker(wheel_venv: Path,
                                                          tmp_path: Path) -> None:
    collections = _site_packages(wheel_venv) / "ansible_collections"
    ours = _run(wheel_venv, tmp_path, "ansible-doc", "kdeploy.deploy.release")
    assert ours.returncode == 0, ours.stderr
    assert str(collections / "kdeploy" / "deploy" / "plugins" / "modules") in ours.stdout
    docker = _run(wheel_venv, tmp_path, "ansible-doc", "community.docker.docker_container")
    assert docker.returncode == 0, docker.stderr
    assert str(collections / "community" / "docker") in docker.stdout


def test_ansible_commands_print_no_warning(wheel_venv: Path, tmp_path: Path) -> None:
    # cryptography 51 deprecates DSA, which ansible-core 2.19 imports: every ansible* command
    # would warn. pyproject.toml pins cryptography<51 until ansible-core stops importing it.
    version = _run(wheel_venv, tmp_path, "ansible", "--version")
    assert version.returncode == 0, version.stderr
    assert "Warning" not in version.stderr, version.stderr


def test_kdeploy_runs_its_plays_from_the_installed_collection(wheel_venv: Path,
                                                             tmp_path: Path) -> None:
    located = _run(wheel_venv, tmp_path, "python", "-c",
                   "import kdeploy.resources as r; print(r.collection_dir())")
    assert located.returncode == 0, located.stderr
    expected = _site_packages(wheel_venv) / "ansible_collections" / "kdeploy" / "deploy"
    assert Path(located.stdout.strip()) == expected
    assert (expected / "playbooks" / "lock_acquire.yml").is_file()
    assert (expected / "roles" / "app" / "tasks" / "main.yml").is_file()


def test_the_event_schema_ships_in_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    located = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c",
         "import json, kdeploy.events as e; p = e.schema_path(); print(p); "
         "print(json.loads(p.read_text())['properties']['schema_version']['const'])"],
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert str(wheel_venv) in located[0]
    assert located[1] == "1"


def test_the_guides_ship_in_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    located = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c",
         "import kdeploy.guides as g; print(g.guides_dir())"],
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert located.startswith(str(wheel_venv))
    shown = _run(wheel_venv, tmp_path, "kdeploy", "docs", "differences")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (ROOT / "docs" / "differences.md").read_text()


def test_help_and_config_run_from_a_temp_dir(wheel_venv: Path, tmp_path: Path) -> None:
    assert _run(wheel_venv, tmp_path, "kdeploy", "--help").returncode == 0
    # `config` checks as a deploy would: the project needs its secrets and a version.
    (tmp_path / "config").mkdir()
    shutil.copy(FIXTURE, tmp_path / "config" / "deploy.yml")
    (tmp_path / ".kamal").mkdir()
    shutil.copy(FIXTURE.parent / ".kamal" / "secrets", tmp_path / ".kamal" / "secrets")
    result = _run(wheel_venv, tmp_path, "kdeploy", "config", "-P", "--json", "--version", "v1")
    assert result.returncode == 0, result.stderr
    assert '"primary_host": "10.0.0.1"' in result.stdout


def test_export_copies_the_installed_collection(wheel_venv: Path, tmp_path: Path) -> None:
    result = _run(wheel_venv, tmp_path, "kdeploy", "export", str(tmp_path / "out"), "-P",
                  "--version", "v1", "-c", str(FIXTURE))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "inventory" / "hosts.yml").read_text().startswith("# Generated")
    copied = tmp_path / "out" / "project" / "collections" / "ansible_collections/kdeploy/deploy"
    assert (copied / "plugins" / "modules" / "release.py").is_file()
    assert (copied / "roles" / "app" / "tasks" / "main.yml").is_file()
