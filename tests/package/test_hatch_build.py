"""The wheel build hook: which collections it maps, and how it refuses a wrong bundle."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def _load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hatch_build"] = module
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def _collection(bundle: Path, name: str, version: str, **dependencies: str) -> Path:
    folder = bundle / "ansible_collections" / name.replace(".", "/")
    folder.mkdir(parents=True)
    info = {"namespace": name.split(".")[0], "name": name.split(".")[1], "version": version,
            "dependencies": dependencies}
    (folder / "MANIFEST.json").write_text(json.dumps({"collection_info": info}))
    return folder


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A fake `ansible` distribution: community.docker 4.8.5, its dependency, and a stranger."""
    root = tmp_path / "site-packages"
    _collection(root, "community.docker", "4.8.5",
                **{"community.library_inventory_filtering_v1": ">=1.0.0"})
    _collection(root, "community.library_inventory_filtering_v1", "1.1.5")
    _collection(root, "community.general", "11.0.0")
    return root


def _galaxy(tmp_path: Path, docker_range: str) -> Path:
    path = tmp_path / "galaxy.yml"
    path.write_text(f"namespace: kdeploy\nname: deploy\nversion: 0.1.0\n"
                    f"dependencies:\n  community.docker: '{docker_range}'\n")
    return path


def test_maps_the_dependency_and_what_it_needs_and_nothing_else(tmp_path: Path,
                                                                 bundle: Path) -> None:
    mapping = hook.dependency_map(_galaxy(tmp_path, ">=4.8.0,<5.0.0"), bundle)
    assert mapping == {
        str(bundle / "ansible_collections/community/docker"):
            "ansible_collections/community/docker",
        str(bundle / "ansible_collections/community/library_inventory_filtering_v1"):
            "ansible_collections/community/library_inventory_filtering_v1",
    }


def test_a_bundled_version_outside_the_range_fails_naming_both(tmp_path: Path,
                                                               bundle: Path) -> None:
    with pytest.raises(hook.BuildError) as error:
        hook.dependency_map(_galaxy(tmp_path, ">=5.0.0,<6.0.0"), bundle)
    assert str(error.value) == (
        f"community.docker 4.8.5 (in {bundle}) is outside galaxy.yml's range '>=5.0.0,<6.0.0': "
        "change the ansible pin of pyproject.toml's [build-system] or the range")


def test_a_transitive_range_is_checked_too(tmp_path: Path, bundle: Path) -> None:
    manifest = bundle / "ansible_collections/community/docker/MANIFEST.json"
    data = json.loads(manifest.read_text())
    data["collection_info"]["dependencies"] = {"community.library_inventory_filtering_v1": ">=2"}
    manifest.write_text(json.dumps(data))
    outside = r"1\.1\.5 .* outside community\.docker's range '>=2'"
    with pytest.raises(hook.BuildError, match=outside):
        hook.dependency_map(_galaxy(tmp_path, "*"), bundle)


def test_a_collection_missing_from_the_bundle_fails(tmp_path: Path) -> None:
    with pytest.raises(hook.BuildError, match=r"community\.docker is not in the 'ansible'"):
        hook.dependency_map(_galaxy(tmp_path, "*"), tmp_path / "empty")


def test_a_missing_galaxy_yml_fails(tmp_path: Path, bundle: Path) -> None:
    with pytest.raises(hook.BuildError, match=r"galaxy\.yml is missing"):
        hook.dependency_map(tmp_path / "galaxy.yml", bundle)


@pytest.mark.parametrize(("version", "version_range", "inside"), [
    ("4.8.5", "*", True),
    ("4.8.5", "4.8.5", True),
    ("4.8.5", "4.8.4", False),
    ("4.8.5", ">=4.8.0,<5.0.0", True),
    ("5.0.0", ">=4.8.0,<5.0.0", False),
    ("5.0.0-rc1", ">=4.8.0", True),
    ("4.8.5", "!=4.8.5", False),
])
def test_galaxy_ranges(version: str, version_range: str, inside: bool) -> None:
    assert hook.version_in_range(version, version_range) is inside


def test_a_range_that_is_not_one_fails() -> None:
    with pytest.raises(hook.BuildError, match=r"cannot compare version '4\.8\.5' with range 'new'"):
        hook.version_in_range("4.8.5", "new")


def _initialize(tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch,
                version: str) -> dict[str, dict[str, str]]:
    _galaxy(tmp_path, ">=4.8.0,<5.0.0")
    monkeypatch.setattr(hook, "bundle_root", lambda: bundle)
    build_data: dict[str, dict[str, str]] = {"force_include": {}, "force_include_editable": {}}
    hook.CollectionsHook(str(tmp_path), {}, None, None, str(tmp_path / "dist"),
                         "wheel").initialize(version, build_data)
    return build_data


def test_the_standard_wheel_gets_our_collection_and_the_bundled_ones(
        tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_data = _initialize(tmp_path, bundle, monkeypatch, "standard")
    targets = set(build_data["force_include"].values())
    assert "ansible_collections/community/docker" in targets
    assert "ansible_collections/kdeploy/deploy/galaxy.yml" in targets
    assert build_data["force_include"][str(tmp_path / "plugins")] == (
        "ansible_collections/kdeploy/deploy/plugins")
    assert build_data["force_include"][str(tmp_path / "docs")] == "kdeploy/guides"
    assert build_data["force_include_editable"] == {}


def test_the_editable_wheel_gets_only_the_bundled_ones(
        tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_data = _initialize(tmp_path, bundle, monkeypatch, "editable")
    assert set(build_data["force_include_editable"].values()) == {
        "ansible_collections/community/docker",
        "ansible_collections/community/library_inventory_filtering_v1"}
    assert build_data["force_include"] == {}


def test_the_hook_stops_the_build_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(hook, "bundle_root", lambda: tmp_path / "empty")
    _galaxy(tmp_path, "*")
    with pytest.raises(SystemExit) as stopped:
        hook.CollectionsHook(str(tmp_path), {}, None, None, str(tmp_path / "dist"),
                             "wheel").initialize("standard", {"force_include": {}})
    assert stopped.value.code == 1
    captured = capsys.readouterr()
    assert "kdeploy wheel: community.docker is not in the 'ansible' distribution" in (
        captured.out + captured.err)
    assert "Traceback" not in captured.out + captured.err


def test_the_wheel_ships_what_kdeploy_export_copies() -> None:
    from kdeploy import resources

    assert hook.OWN_CONTENT == resources.CONTENT
