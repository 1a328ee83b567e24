from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_python_sources_pass_ruff() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("ruff is required in CI (pip install -e '.[test]')")
        pytest.skip("ruff is not installed")
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
