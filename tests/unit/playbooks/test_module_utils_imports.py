"""kdeploy's module_utils reach every module's payload, with or without mitogen.

Ansible's payload builder follows every import, even one inside a function; mitogen's module
finder reads only the imports of a file's top level, so a nested one is missing on the host
(ImportError) under mitogen. Every kdeploy module_utils import therefore sits at the top, and
names the collection's own path (ansible_collections.kdeploy.deploy.plugins.module_utils.X).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from playbook_support import PLUGINS, kdeploy_utils_imported

SOURCES = sorted([*PLUGINS.glob("modules/*.py"), *PLUGINS.glob("module_utils/*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_every_kdeploy_module_utils_import_is_at_the_top(path: Path) -> None:
    assert sorted(kdeploy_utils_imported(path)) == sorted(
        kdeploy_utils_imported(path, top_level_only=True))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_module_utils_are_imported_by_their_collection_name(path: Path) -> None:
    # The short names of Ansible's legacy layout (ansible.module_utils.X next to a role's
    # library/) do not exist in a collection: such an import fails on the host.
    legacy = [node.module for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.ImportFrom) and node.module
              and node.module.startswith("ansible.module_utils.")
              and (PLUGINS / "module_utils" / f"{node.module.rsplit('.', 1)[1]}.py").exists()]
    assert legacy == []


def test_every_module_utils_import_names_a_file_of_the_collection() -> None:
    missing = [f"{path.name}: {name}" for path in SOURCES for name in kdeploy_utils_imported(path)
               if not (PLUGINS / "module_utils" / f"{name}.py").is_file()]
    assert missing == []
