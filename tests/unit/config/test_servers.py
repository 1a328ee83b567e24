"""servers: role names from a host list or a hash, the primary role, raw role slices."""

from __future__ import annotations

import pytest

from kdeploy.config.servers import primary_role_name, role_config, role_names


@pytest.mark.parametrize(("servers", "names"), [
    (["h1", "h2"], ("web",)),
    ({"workers": ["h1"], "web": ["h2"], "cron": {"hosts": ["h3"]}}, ("cron", "web", "workers")),
    (None, ()),
])
def test_role_names_sorted_like_kamal(servers, names):
    assert role_names(servers) == names


def test_role_config():
    assert role_config(["h1"], "web") == ["h1"]
    assert role_config({1: ["h1"]}, "1") == ["h1"]


@pytest.mark.parametrize(("raw", "name"), [({}, "web"), ({"primary_role": "workers"}, "workers")])
def test_primary_role_name(raw, name):
    assert primary_role_name(raw) == name
