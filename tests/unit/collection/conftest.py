"""The collection tests share the playbook tests' helpers (REPO, require_tool)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "playbooks"))
