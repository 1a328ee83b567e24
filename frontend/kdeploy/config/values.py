"""Small helpers shared by the section modules: Ruby-like stringification and frozen mappings."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def ruby_str(value: Any) -> str:
    """Stringify a YAML scalar as Kamal does (`true`, `3306`, `1.5`), not as Python (`True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def str_map(mapping: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash of scalars as strings on both sides (labels, clear env, build args)."""
    return {ruby_str(key): ruby_str(value) for key, value in (mapping or {}).items()}


def str_list(value: Any) -> tuple[str, ...]:
    """One scalar or a list of them (host tags, arches) as a tuple of strings."""
    return tuple(ruby_str(item) for item in (value if isinstance(value, list) else [value]))


def frozen(mapping: Mapping[K, V] | None = None) -> Mapping[K, V]:
    """Return a read-only view of a copy of `mapping`, so config objects stay immutable."""
    return MappingProxyType(dict(mapping or {}))


def deep_merge(base: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """ActiveSupport's `deep_merge`: hashes merge recursively, anything else is replaced."""
    merged = dict(base)
    for key, value in other.items():
        if isinstance(merged.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def thaw(value: Any) -> Any:
    """Turn frozen mappings and tuples back into plain dicts and lists (for output)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value
