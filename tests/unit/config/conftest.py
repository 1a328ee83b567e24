"""Helpers for the config tests: a minimal valid config and a way to load variants of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.config import Config, load_config

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


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config (dict or YAML text) to tmp_path/config/deploy.yml and return the path."""

    def write(config: dict[str, Any] | str, name: str = "deploy.yml") -> Path:
        path = tmp_path / "config" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
        return path

    return write


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Callable[..., Config]:
    """Write and load a config (version `abc`, empty environment unless given)."""

    def load_(config: dict[str, Any] | str, destination: str | None = None,
              **kwargs: Any) -> Config:
        path = write_config(config)
        kwargs.setdefault("version", "abc")
        kwargs.setdefault("environ", {})
        return load_config(path, destination, **kwargs)

    return load_
