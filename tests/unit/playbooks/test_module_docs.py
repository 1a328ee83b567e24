"""Our modules' DOCUMENTATION, EXAMPLES and RETURN are YAML that Ansible reads (ansible-doc).

ansible-lint reports a block it cannot parse but still passes, so a stray `: ` inside a plain
sentence would go unnoticed until a user runs ansible-doc.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from ansible.parsing.yaml.loader import AnsibleLoader
from playbook_support import REPO

MODULES = sorted({path.resolve() for path in REPO.glob("roles/*/library/*.py")})
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def doc_blocks(path: Path) -> dict[str, str]:
    """The module's documentation strings, by name."""
    return {node.targets[0].id: node.value.value for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in BLOCKS and isinstance(node.value, ast.Constant)}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_every_doc_block_is_yaml_ansible_reads(path: Path) -> None:
    blocks = doc_blocks(path)
    assert set(blocks) == set(BLOCKS)
    for name, text in blocks.items():
        assert yaml.load(text, Loader=AnsibleLoader) is not None, name
