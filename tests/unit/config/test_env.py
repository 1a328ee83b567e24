"""Env: simple and clear/secret forms, aliases, tags, merge."""

from __future__ import annotations

import pytest

from kdeploy.config.env import Env, build_env
from kdeploy.config.values import frozen


@pytest.mark.parametrize(("raw", "clear", "secret", "tags"), [
    ({"A": "1", "B": 2, "C": True}, {"A": "1", "B": "2", "C": "true"}, {}, ()),
    ({"clear": {"A": "1"}, "secret": ["S", "K:ALIAS"]}, {"A": "1"}, {"S": "S", "K": "ALIAS"}, ()),
    ({"secret": ["S"]}, {}, {"S": "S"}, ()),
    ({"tags": {"t": {"A": "1"}}}, {}, {}, ("t",)),
    (None, {}, {}, ()),
])
def test_build_env(raw, clear, secret, tags):
    env = build_env(raw)
    assert (dict(env.clear), dict(env.secret), tuple(env.tags)) == (clear, secret, tags)


def test_merge_later_clear_wins_and_secrets_union():
    base = Env(clear=frozen({"A": "1", "B": "1"}), secret=frozen({"S": "S", "D": "MAIN"}))
    other = Env(clear=frozen({"B": "2"}), secret=frozen({"D": "SECONDARY", "T": "T"}))
    merged = base.merge(other)
    assert dict(merged.clear) == {"A": "1", "B": "2"}
    assert dict(merged.secret) == {"S": "S", "D": "SECONDARY", "T": "T"}


def test_secret_keys_keep_aliases():
    assert build_env({"secret": ["A", "B:C"]}).secret_keys == ("A", "B:C")
