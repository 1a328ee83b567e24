"""Wheel build hook: the Ansible collections kdeploy runs with go into the wheel.

The wheel's `site-packages/ansible_collections/` receives:

- `kdeploy/deploy`, this repository's collection (standard wheel only: an editable install must
  see the working tree, not a copy that goes stale, so `.ci/install.sh` links it instead);
- the collections `galaxy.yml` depends on (community.docker and what it needs in turn), copied
  unmodified, licences included, out of the `ansible` distribution that pyproject.toml lists as a
  build requirement (standard and editable wheels alike).

The standard wheel also carries the project's guides, `docs/*.md`, as `kdeploy/guides/`
(`kdeploy docs TOPIC` shows them; kdeploy.guides reads the working tree otherwise).

ansible-core scans `sys.path` for `ansible_collections`, so the venv's own `ansible-playbook`
finds them with no setting. Nothing third-party is in the repository: pip fetches `ansible` into
the build environment through whatever index, proxy or `--find-links` the user gave it.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

OWN_COLLECTION = "ansible_collections/kdeploy/deploy"
# What `ansible-galaxy collection build` ships of the repository root, as kdeploy.resources.CONTENT
# (which `kdeploy export` copies) says; test_hatch_build.py keeps the two equal.
OWN_CONTENT = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "README.md", "CHANGELOG.md")
# The project's guides, and where the package finds them (kdeploy.guides).
GUIDES = ("docs", "kdeploy/guides")
# The distribution that carries the third-party collections; pinned in [build-system].
BUNDLE = "ansible"


class BuildError(Exception):
    """The wheel cannot be built as asked; the message says why."""


class CollectionsHook(BuildHookInterface):
    """Adds the collections to the wheel's file map (hatch's `force_include`)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map the collections into the wheel; `version` is "standard" or "editable"."""
        root = Path(self.root)
        try:
            third_party = dependency_map(root / "galaxy.yml", bundle_root())
        except BuildError as error:
            self.app.abort(f"kdeploy wheel: {error}")
            return
        if version == "editable":
            build_data["force_include_editable"].update(third_party)
            return
        build_data["force_include"].update(third_party)
        build_data["force_include"].update(
            {str(root / name): f"{OWN_COLLECTION}/{name}" for name in OWN_CONTENT})
        source, target = GUIDES
        build_data["force_include"][str(root / source)] = target


def bundle_root() -> Path:
    """The directory holding `ansible_collections/` of the build environment's `ansible`."""
    try:
        distribution = metadata.distribution(BUNDLE)
    except metadata.PackageNotFoundError:
        raise BuildError(f"the build requirement {BUNDLE!r} is not installed in the build "
                         "environment (build with pip or `python -m build`, which install "
                         "[build-system] requires)") from None
    return Path(str(distribution.locate_file("")))


def dependency_map(galaxy_yml: Path, bundle: Path) -> dict[str, str]:
    """Source folder -> wheel path of every collection galaxy.yml needs, dependencies included.

    Each one must be in `bundle` at a version inside the range that asks for it.
    """
    wanted = dict(_read_yaml(galaxy_yml).get("dependencies") or {})
    asked_by = dict.fromkeys(wanted, galaxy_yml.name)
    mapping: dict[str, str] = {}
    while wanted:
        name, version_range = wanted.popitem()
        relative = "ansible_collections/" + name.replace(".", "/")
        manifest = _manifest(bundle / relative, name)
        found = str(manifest["collection_info"]["version"])
        if not version_in_range(found, version_range):
            raise BuildError(f"{name} {found} (in {bundle}) is outside {asked_by[name]}'s range "
                             f"{version_range!r}: change the {BUNDLE} pin of pyproject.toml's "
                             "[build-system] or the range")
        mapping[str(bundle / relative)] = relative
        needs = manifest["collection_info"].get("dependencies") or {}
        for dependency, dependency_range in needs.items():
            if dependency not in asked_by:
                wanted[dependency] = dependency_range
                asked_by[dependency] = name
    return mapping


def version_in_range(version: str, version_range: str) -> bool:
    """Whether `version` satisfies a Galaxy range: `*`, `1.2.3`, or `>=1.0.0,<2.0.0`."""
    text = str(version_range).strip()
    if text in ("", "*"):
        return True
    if text[0].isdigit():
        text = f"=={text}"
    try:
        return SpecifierSet(text).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        raise BuildError(f"cannot compare version {version!r} with range "
                         f"{version_range!r}") from None


def _manifest(folder: Path, name: str) -> dict[str, Any]:
    try:
        return json.loads((folder / "MANIFEST.json").read_text())
    except FileNotFoundError:
        raise BuildError(f"{name} is not in the {BUNDLE!r} distribution of the build "
                         f"environment ({folder})") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise BuildError(f"{path} is missing: it holds the version and the collection's "
                         "dependencies") from None
    if not isinstance(data, dict):
        raise BuildError(f"{path}: should be a mapping")
    return data
