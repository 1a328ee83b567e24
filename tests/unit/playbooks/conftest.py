from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playbook_support import FIXTURES, REPO


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private data dir laid out as docs/ansible-interface.md says: project/ + inventory/."""
    root = tmp_path_factory.mktemp("pdd")
    project = root / "project"
    project.mkdir()
    for playbook in (REPO / "playbooks").glob("*.yml"):
        shutil.copy(playbook, project / playbook.name)
    shutil.copytree(REPO / "roles", project / "roles")
    shutil.copy(FIXTURES / "setup.yml", project / "setup.yml")
    shutil.copytree(FIXTURES / "inventory", root / "inventory")
    shutil.copytree(FIXTURES / "env", root / "env")
    return root
