"""Fixtures for the config tests: write a config, load it (helpers are in config_helpers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.config import Config, load_config


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
