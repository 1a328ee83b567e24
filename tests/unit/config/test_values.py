"""Shared value helpers: Ruby-like strings, deep merge, frozen mappings."""

from __future__ import annotations

import pytest

from kdeploy.config.values import deep_merge, frozen, ruby_str, str_list, thaw


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), (False, "false"), (None, ""), (3306, "3306"), (1.5, "1.5"), ("a", "a"),
])
def test_ruby_str(value, text):
    assert ruby_str(value) == text


def test_deep_merge_merges_hashes_and_replaces_the_rest():
    base = {"servers": {"web": ["a"], "jobs": ["b"]}, "env": {"clear": {"A": 1}}, "x": [1]}
    other = {"servers": {"web": ["c"]}, "env": {"clear": {"B": 2}}, "x": [2]}
    assert deep_merge(base, other) == {
        "servers": {"web": ["c"], "jobs": ["b"]}, "env": {"clear": {"A": 1, "B": 2}}, "x": [2]}


def test_str_list_and_thaw():
    assert str_list("a") == ("a",) and str_list([1, True]) == ("1", "true")
    assert thaw(frozen({"a": (1, frozen({"b": 2}))})) == {"a": [1, {"b": 2}]}
