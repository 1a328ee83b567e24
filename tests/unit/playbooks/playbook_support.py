"""Helpers shared by the playbook tests: where the repository is and how to find Ansible's tools."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ansible"


def find_tool(name: str) -> str | None:
    """Return the tool next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """Return the tool's path; skip when it is missing, but fail in CI (CI=true)."""
    tool = find_tool(name)
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but was not found")
        pytest.skip(f"{name} is not installed")
    return tool
