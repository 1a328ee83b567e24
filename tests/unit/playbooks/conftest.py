from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playbook_support import FIXTURES

from kdeploy import ansible_yaml
from kdeploy.plan import setup_plays
from kdeploy.resources import collections_path

# The sample inventory's accessories and roles, in its order (tests/fixtures/ansible/inventory).
SAMPLE_ACCESSORIES = ["db", "cache"]
SAMPLE_ROLES = ["web", "web_new"]


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private data dir laid out as docs/ansible-interface.md says: project/ + inventory/.

    The entry playbook is the one the plan generates for the sample inventory's names; it
    imports the part playbooks of this working tree's collection.
    """
    root = tmp_path_factory.mktemp("pdd")
    project = root / "project"
    project.mkdir()
    # The parts and roles come from this working tree as the collection kdeploy.deploy.
    collections = ":".join(collections_path(project))
    (project / "ansible.cfg").write_text(f"[defaults]\ncollections_path = {collections}\n")
    entries = [entry.as_yaml_data() for entry in setup_plays(SAMPLE_ACCESSORIES, SAMPLE_ROLES)]
    (project / "setup.yml").write_text("---\n" + ansible_yaml.dump(entries))
    shutil.copytree(FIXTURES / "inventory", root / "inventory")
    shutil.copytree(FIXTURES / "env", root / "env")
    return root
