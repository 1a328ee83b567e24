"""The collection's plugins document themselves: DOCUMENTATION, EXAMPLES and RETURN are YAML
that Ansible reads, under the plugin's own name, and ansible-doc shows each one.

ansible-lint reports a block it cannot parse but still passes, so a stray `: ` inside a plain
sentence would go unnoticed until a user runs ansible-doc.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.parsing.yaml.loader import AnsibleLoader
from playbook_support import PLUGINS, collections_dir, kdeploy_utils_imported, require_tool

MODULES = sorted((PLUGINS / "modules").glob("*.py"))
LOOKUPS = sorted((PLUGINS / "lookup").glob("*.py"))
CALLBACKS = sorted((PLUGINS / "callback").glob("*.py"))
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")
NAMES = {"module": [path.stem for path in MODULES], "lookup": [path.stem for path in LOOKUPS],
         "callback": [path.stem for path in CALLBACKS]}


def doc_blocks(path: Path) -> dict[str, str]:
    """The module's documentation strings, by name."""
    return {node.targets[0].id: node.value.value for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in BLOCKS and isinstance(node.value, ast.Constant)}


@pytest.mark.parametrize("path", MODULES + LOOKUPS + CALLBACKS, ids=lambda path: path.name)
def test_every_doc_block_is_yaml_ansible_reads(path: Path) -> None:
    blocks = doc_blocks(path)
    # A callback has no arguments to show in EXAMPLES and returns nothing.
    assert set(blocks) == ({"DOCUMENTATION"} if path in CALLBACKS else set(BLOCKS))
    for name, text in blocks.items():
        assert yaml.load(text, Loader=AnsibleLoader) is not None, name


def test_the_collection_holds_kdeploys_seven_modules_one_lookup_and_one_callback() -> None:
    assert NAMES == {"module": ["accessory_boot", "container_state", "docker_network", "docker_run",
                                "proxy_route", "release", "settle"], "lookup": ["erb"],
                     "callback": ["prebuild"]}


@pytest.mark.parametrize("path", MODULES + LOOKUPS + CALLBACKS, ids=lambda path: path.name)
def test_each_plugin_documents_itself_under_its_file_name(path: Path) -> None:
    doc = yaml.load(doc_blocks(path)["DOCUMENTATION"], Loader=AnsibleLoader)
    key = "module" if path.parent.name == "modules" else "name"
    assert doc[key] == path.stem


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_every_module_supports_check_and_diff_mode_fully(path: Path) -> None:
    doc = yaml.load(doc_blocks(path)["DOCUMENTATION"], Loader=AnsibleLoader)
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"
    # ... and says so in code: check mode declared, a diff returned (test_check_diff.py runs them),
    # by the module or by the module_utils it imports.
    source = path.read_text() + "".join(
        (PLUGINS / "module_utils" / f"{name}.py").read_text()
        for name in kdeploy_utils_imported(path))
    assert "supports_check_mode=True" in source
    assert re.search(r'\bdiff=|\["diff"\] = ', source)


@pytest.mark.parametrize(("kind", "name"),
                         [(kind, name) for kind, names in NAMES.items() for name in names])
def test_ansible_doc_shows_each_plugin_by_its_fqcn(
        kind: str, name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    collections = collections_dir(tmp_path_factory.mktemp("collections"))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([require_tool("ansible-doc"), "-t", kind, f"kdeploy.deploy.{name}"],
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    assert f"kdeploy.deploy.{name}" in result.stdout
