"""kdeploy's module_utils reach every module's payload, with or without mitogen.

Ansible's payload builder follows every import, even one inside a function; mitogen's module
finder reads only the imports of a file's top level, so a nested one is missing on the host
(ImportError) under mitogen. Every kdeploy module_utils import therefore sits at the top.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playbook_support import REPO, kdeploy_utils_imported

PATTERNS = ("roles/*/library/*.py", "roles/*/module_utils/*.py")
SOURCES = sorted({path.resolve() for pattern in PATTERNS for path in REPO.glob(pattern)})


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_every_kdeploy_module_utils_import_is_at_the_top(path: Path) -> None:
    assert sorted(kdeploy_utils_imported(path)) == sorted(
        kdeploy_utils_imported(path, top_level_only=True))


def test_each_role_links_what_its_modules_import() -> None:
    # A module's payload holds only the module_utils of its own role's folder.
    missing = []
    for library in REPO.glob("roles/*/library/*.py"):
        utils = library.parent.parent / "module_utils"
        needed, seen = set(kdeploy_utils_imported(library)), set()
        while needed - seen:
            name = min(needed - seen)
            seen.add(name)
            if not (utils / f"{name}.py").exists():
                missing.append(f"{library.relative_to(REPO)}: {name}")
                continue
            needed |= set(kdeploy_utils_imported(utils / f"{name}.py"))
    assert missing == []
