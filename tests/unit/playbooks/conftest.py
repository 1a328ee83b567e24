from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from playbook_support import FIXTURES

from kdeploy import ansible_yaml
from kdeploy.config import load_config
from kdeploy.plan import setup_plays
from kdeploy.resources import collections_path
from kdeploy.selection import select

# The sample inventory's roles and accessories as a config (tests/fixtures/ansible/inventory):
# roles web (web1, web2) and web_new (webnew1), accessories db (db1 and webnew1) and cache
# (web1), no proxy (the sample has no proxy group).
SAMPLE_CONFIG = {
    "service": "app",
    "image": "app",
    "servers": {"web": {"hosts": ["web1", "web2"], "proxy": False},
                "web_new": {"hosts": ["webnew1"], "proxy": False}},
    "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
    "accessories": {"db": {"image": "mysql:8.0", "hosts": ["db1", "webnew1"]},
                    "cache": {"image": "redis:7", "host": "web1"}},
}


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private data dir laid out as docs/ansible-interface.md says: project/ + inventory/.

    The entry playbook is the one the plan generates for the sample inventory's roles and
    accessories; it imports the part playbooks of this working tree's collection.
    """
    root = tmp_path_factory.mktemp("pdd")
    project = root / "project"
    project.mkdir()
    # The parts and roles come from this working tree as the collection kdeploy.deploy.
    collections = ":".join(collections_path(project))
    (project / "ansible.cfg").write_text(f"[defaults]\ncollections_path = {collections}\n")
    config_file = root / "config" / "deploy.yml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(SAMPLE_CONFIG, sort_keys=False))
    config = load_config(config_file, version="v1", environ={})
    selection = select(config)
    entries = [entry.as_yaml_data() for entry in setup_plays(config, selection)]
    (project / "setup.yml").write_text("---\n" + ansible_yaml.dump(entries))
    shutil.copytree(FIXTURES / "inventory", root / "inventory")
    shutil.copytree(FIXTURES / "env", root / "env")
    return root
