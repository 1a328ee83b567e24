"""Shared values for the config tests: the fixtures dir, a minimal valid config, variants."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"

BASE: dict[str, Any] = {
    "service": "app",
    "image": "app",
    "servers": {"web": ["10.0.0.1"]},
    "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
}


def variant(**changes: Any) -> dict[str, Any]:
    """BASE with keys replaced; a `a/b/c` key sets a nested value, None as value deletes."""
    config = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return config
