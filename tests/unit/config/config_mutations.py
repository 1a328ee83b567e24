"""Mutations of valid configs (drop keys, change types, inject keys, wrong nesting).

Used by the property test here and by the differential test against Kamal in tests/peer.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from config_helpers import FIXTURES
from hypothesis import strategies as st

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
    """Apply one to three random mutations to a deep copy of `config`."""
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
        _apply(parent, path[-1], data)
    return config


def _apply(parent: Any, key: Any, data: st.DataObject) -> None:
    """One mutation of `parent[key]`: drop it, change its type, inject a key, (un)nest it."""
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
