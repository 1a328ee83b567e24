"""The wheel carries playbooks/ and roles/ and works outside the tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "configs" / "deploy_founding_case.yml"


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the built wheel installed (dependencies borrowed, not kdeploy)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("kdeploy-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    # The dependencies come from this test venv; a plain path entry (not a site dir) does not
    # run this venv's .pth files, so the editable kdeploy of the source tree stays out.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "borrowed_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "kdeploy"), *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def test_installed_wheel_is_not_the_source_tree(wheel_venv: Path, tmp_path: Path) -> None:
    located = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c",
         "import kdeploy, kdeploy.resources as r; print(kdeploy.__file__); "
         "print(r.resource_dir('roles')); print(r.resource_dir('playbooks'))"],
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert all(str(wheel_venv) in line for line in located)
    assert Path(located[1], "kdeploy_app", "tasks", "main.yml").is_file()
    assert Path(located[2], "lock_acquire.yml").is_file()


def test_the_event_schema_ships_in_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    located = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c",
         "import json, kdeploy.events as e; p = e.schema_path(); print(p); "
         "print(json.loads(p.read_text())['properties']['schema_version']['const'])"],
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert str(wheel_venv) in located[0]
    assert located[1] == "1"


def test_help_and_config_run_from_a_temp_dir(wheel_venv: Path, tmp_path: Path) -> None:
    assert _run(wheel_venv, tmp_path, "--help").returncode == 0
    # `config` checks as a deploy would: the project needs its secrets and a version.
    (tmp_path / "config").mkdir()
    shutil.copy(FIXTURE, tmp_path / "config" / "deploy.yml")
    (tmp_path / ".kamal").mkdir()
    shutil.copy(FIXTURE.parent / ".kamal" / "secrets", tmp_path / ".kamal" / "secrets")
    result = _run(wheel_venv, tmp_path, "config", "-P", "--json", "--version", "v1")
    assert result.returncode == 0, result.stderr
    assert '"primary_host": "10.0.0.1"' in result.stdout


def test_export_uses_the_packaged_playbooks_and_roles(wheel_venv: Path,
                                                     tmp_path: Path) -> None:
    result = _run(wheel_venv, tmp_path, "export", str(tmp_path / "out"), "-P", "--version", "v1",
                  "-c", str(FIXTURE))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "inventory" / "hosts.yml").read_text().startswith("# Generated")
    assert (tmp_path / "out" / "project" / "roles" / "kdeploy_app" / "tasks").is_dir()
