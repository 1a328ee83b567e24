"""Ruby's notions behind Kamal's checks: type names, stringish scalars, presence, truthiness."""

from __future__ import annotations

import datetime

import pytest

from kdeploy.config.ruby import is_stringish, kind_of, present, truthy


@pytest.mark.parametrize(("value", "kind"), [
    ("a", "string"), (1, "integer"), (1.5, "float"), (True, "boolean"), ([], "array"),
    ({}, "hash"), (None, "nil"),
])
def test_kind_of(value, kind):
    assert kind_of(value) == kind


@pytest.mark.parametrize(("value", "stringish"), [
    ("a", True), (1, True), (1.5, True), (False, True), (None, False), ([], False),
    (datetime.date(2024, 1, 1), False),
])
def test_stringish(value, stringish):
    assert is_stringish(value) is stringish


@pytest.mark.parametrize(("value", "is_present", "is_truthy"), [
    (None, False, False), (False, False, False), ("", False, True), ("  ", False, True),
    ([], False, True), ({}, False, True), (0, True, True), ("a", True, True),
])
def test_present_and_truthy(value, is_present, is_truthy):
    assert (present(value), truthy(value)) == (is_present, is_truthy)
