"""The run directory points at the collection kdeploy.deploy; an export carries its own copy.

One copy of the plays: a run directory holds ansible.cfg, ssh_config and the entry playbook,
which imports the collection's parts by FQCN. `kdeploy export` runs elsewhere, so it copies the
collection (the Ansible side only) and names community.docker in a requirements.yml.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from context_helpers import context

from kdeploy import ansible_yaml, resources
from kdeploy.config import load_config
from kdeploy.plan import PlaybookImport, SetupOptions, build_setup_plan
from kdeploy.run.private_data_dir import MITOGEN_ENV, write_private_data_dir

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
COLLECTION = Path("collections", "ansible_collections", "kdeploy", "deploy")


@pytest.fixture(autouse=True)
def no_mitogen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MITOGEN_ENV, raising=False)


def write(root: Path, standalone: bool = False) -> Path:
    config = load_config(FIXTURES / "deploy_founding_case.yml", version="v1", environ={})
    plan = build_setup_plan(context(config), SetupOptions(skip_push=True))
    write_private_data_dir(root, config, plan, standalone=standalone)
    return root / "project"


def collections_setting(project: Path) -> list[str]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(project / "ansible.cfg")
    assert not cfg.has_option("defaults", "roles_path")
    return cfg.get("defaults", "collections_path").split(":")


def test_a_run_directory_links_the_source_tree_and_copies_nothing(tmp_path: Path) -> None:
    project = write(tmp_path / "pdd")
    assert sorted(path.name for path in project.iterdir()) == [
        "ansible.cfg", "collections", "setup.yml", "ssh_config"]
    assert (project / COLLECTION).is_symlink() and (project / COLLECTION).resolve() == REPO
    assert collections_setting(project) == [
        str(project / "collections"), sysconfig.get_paths()["purelib"],
        "~/.ansible/collections", "/usr/share/ansible/collections"]


def test_the_entry_playbook_imports_the_collections_parts(tmp_path: Path) -> None:
    project = write(tmp_path / "pdd")
    entries = ansible_yaml.load((project / "setup.yml").read_text())
    imported = [entry["ansible.builtin.import_playbook"] for entry in entries
                if "ansible.builtin.import_playbook" in entry]
    assert "kdeploy.deploy.lock_acquire" in imported
    assert all(name.startswith("kdeploy.deploy.") for name in imported), imported
    assert all((REPO / "playbooks" / f"{name.rsplit('.', 1)[1]}.yml").is_file()
               for name in imported)


def test_an_installed_collection_is_used_where_it_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    (site / "ansible_collections" / "kdeploy" / "deploy").mkdir(parents=True)
    (site / "ansible_collections" / "kdeploy" / "deploy" / "galaxy.yml").write_text("{}\n")
    monkeypatch.setattr(resources, "_PACKAGE_DIR", site / "kdeploy")
    assert resources.collection_dir() == site / "ansible_collections" / "kdeploy" / "deploy"
    project = write(tmp_path / "pdd")
    assert not (project / "collections").exists()
    assert collections_setting(project)[:2] == [str(site), sysconfig.get_paths()["purelib"]]


def test_a_wheel_without_the_collection_falls_back_to_the_source_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A folder without galaxy.yml is no collection (a half-removed install, a stray directory).
    site = tmp_path / "site-packages"
    (site / "ansible_collections" / "kdeploy" / "deploy").mkdir(parents=True)
    monkeypatch.setattr(resources, "_PACKAGE_DIR", site / "kdeploy")
    assert resources.collection_dir() == REPO


def test_an_export_carries_the_collection_and_its_requirements(tmp_path: Path) -> None:
    project = write(tmp_path / "exported", standalone=True)
    copy = project / COLLECTION
    assert copy.is_dir() and not copy.is_symlink()
    assert sorted(path.name for path in copy.iterdir()) == sorted(resources.CONTENT)
    assert (copy / "plugins" / "modules" / "release.py").read_bytes() == (
        REPO / "plugins" / "modules" / "release.py").read_bytes()
    assert not [path for path in copy.rglob("*") if "__pycache__" in path.parts]
    requirements = yaml.safe_load((project / "collections" / "requirements.yml").read_text())
    assert [item["name"] for item in requirements["collections"]] == ["community.docker"]
    assert collections_setting(project) == [
        "./collections", "~/.ansible/collections", "/usr/share/ansible/collections"]


def test_ansible_finds_the_exported_copy_first(tmp_path: Path) -> None:
    project = write(tmp_path / "exported", standalone=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-t", "role",
         "kdeploy.deploy.lock"],
        cwd=project, env=env | {"ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True,
        check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"({project / COLLECTION})" in result.stdout


@pytest.mark.parametrize("playbook", ["app", "roles/app.yml", "../app.yml"])
def test_a_part_is_a_plain_file_name(playbook: str) -> None:
    with pytest.raises(ValueError, match="not a part playbook"):
        PlaybookImport(playbook, ())


def test_a_hook_playbook_is_imported_by_its_path() -> None:
    entry = PlaybookImport("/srv/app/hooks/pre-deploy.yml", ()).as_yaml_data()
    assert entry["ansible.builtin.import_playbook"] == "/srv/app/hooks/pre-deploy.yml"
    assert PlaybookImport("app.yml", ("app",)).as_yaml_data()[
        "ansible.builtin.import_playbook"] == "kdeploy.deploy.app"
