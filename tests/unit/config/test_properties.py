"""Property: any mutation of a valid config gives a Config or a ConfigError naming the file."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from config_helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdeploy.config import Config, load_config, select
from kdeploy.errors import ConfigError

SOURCES = [
    yaml.safe_load(path.read_text())
    for path in sorted(FIXTURES.glob("deploy_*.yml"))
    if path.name.count(".") == 1 and "<%" not in path.read_text()
]
ODD_VALUES = [None, 0, -1, 1.5, "", "str", "a:b", True, False, [], {}, [1], ["x"], {"a": 1},
              {"hosts": ["h"]}, [{"h": "t"}], [{"a": 1, "b": 2}], "localhost:1"]
ODD_KEYS = ["foo", "x-foo", "hosts", "proxy", "env", "tags", "secret", "clear", "options", 1]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node below the root."""
    found = []
    children = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def mutate(config: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    # Deep copies everywhere: the sources and ODD_VALUES must never change between runs.
    config = copy.deepcopy(config)
    for _ in range(data.draw(st.integers(1, 3))):
        targets = paths(config)
        if not targets:
            break
        path = data.draw(st.sampled_from(targets))
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        operation = data.draw(st.sampled_from(["drop", "retype", "inject", "wrap", "unwrap"]))
        if operation == "drop":
            del parent[key]
        elif operation == "retype":
            parent[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
        elif operation == "inject" and isinstance(parent[key], dict):
            odd = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
            parent[key][data.draw(st.sampled_from(ODD_KEYS))] = odd
        elif operation == "wrap":
            parent[key] = data.draw(st.sampled_from([[parent[key]], {"hosts": parent[key]}]))
        elif operation == "unwrap" and isinstance(parent[key], (list, dict)) and parent[key]:
            values = parent[key] if isinstance(parent[key], list) else list(parent[key].values())
            parent[key] = values[0]
    return config


WORKDIR = Path(tempfile.mkdtemp(prefix="kdeploy-properties-"))
CONFIG_FILE = WORKDIR / "config" / "deploy.yml"
CONFIG_FILE.parent.mkdir(parents=True)


# KD_EXAMPLES=10000 for a longer hunt.
@settings(max_examples=int(os.environ.get("KD_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCES), data=st.data())
def test_mutated_config_is_valid_or_a_config_error(source, data):
    CONFIG_FILE.write_text(yaml.safe_dump(mutate(source, data)))
    try:
        config = load_config(CONFIG_FILE, version="abc", environ={})
    except ConfigError as error:
        assert error.message.startswith(f"{CONFIG_FILE}: ")
        assert "\n" not in error.message
        return
    assert isinstance(config, Config)
    yaml.safe_dump(config.to_dict())
    if config.roles:
        select(config)
