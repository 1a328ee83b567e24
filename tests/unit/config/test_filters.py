"""-r/-h/-p filters with Kamal's semantics (Kamal's commander.rb and its commander_test.rb)."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.errors import UsageError
from kdeploy.selection import select

SERVERS = {
    "web": ["1.1.1.1", "1.1.1.2"],
    "workers": ["1.1.1.3", "1.1.1.4"],
}
ACCESSORIES = {
    "mysql": {"image": "mysql", "host": "1.1.1.5"},
    "redis": {"image": "redis", "roles": ["web"]},
}


@pytest.fixture
def config(load):
    return load(variant(servers=SERVERS, accessories=ACCESSORIES))


@pytest.mark.parametrize(("options", "hosts", "roles", "primary", "accessories"), [
    ({}, ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"], ["web", "workers"], "1.1.1.1",
     {"mysql": ("1.1.1.5",), "redis": ("1.1.1.1", "1.1.1.2")}),
    ({"roles": "web"}, ["1.1.1.1", "1.1.1.2"], ["web"], "1.1.1.1",
     {"redis": ("1.1.1.1", "1.1.1.2")}),
    ({"roles": "workers"}, ["1.1.1.3", "1.1.1.4"], ["workers"], "1.1.1.3", {}),
    ({"roles": "w*"}, ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"], ["web", "workers"],
     "1.1.1.1", {"redis": ("1.1.1.1", "1.1.1.2")}),
    ({"roles": "workers,web"}, ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"],
     ["web", "workers"], "1.1.1.1", {"redis": ("1.1.1.1", "1.1.1.2")}),
    # The first -h host is the primary host; its role (workers) and hosts sort first.
    ({"hosts": "1.1.1.3,1.1.1.1"}, ["1.1.1.3", "1.1.1.1"], ["workers", "web"], "1.1.1.3",
     {"redis": ("1.1.1.1",)}),
    ({"hosts": "1.1.1.[45]"}, ["1.1.1.4", "1.1.1.5"], ["workers"], "1.1.1.4",
     {"mysql": ("1.1.1.5",)}),
    ({"hosts": "1.1.1.{2}"}, ["1.1.1.2"], ["web"], "1.1.1.2", {"redis": ("1.1.1.2",)}),
    ({"hosts": "1.1.1.5"}, ["1.1.1.5"], [], "1.1.1.5", {"mysql": ("1.1.1.5",)}),
    ({"roles": "web", "hosts": "1.1.1.2,1.1.1.3"}, ["1.1.1.2"], ["web"], "1.1.1.2",
     {"redis": ("1.1.1.2",)}),
    ({"primary": True}, ["1.1.1.1"], ["web"], "1.1.1.1", {"redis": ("1.1.1.1",)}),
    ({"primary": True, "roles": "workers"}, ["1.1.1.3"], ["workers"], "1.1.1.3", {}),
])
def test_select(config, options, hosts, roles, primary, accessories):
    selection = select(config, **options)
    assert list(selection.hosts) == hosts
    assert list(selection.role_names) == roles
    assert selection.primary_host == primary
    assert dict(selection.accessory_hosts) == accessories


def test_role_hosts_and_app_hosts(config):
    selection = select(config, hosts="1.1.1.2,1.1.1.4,1.1.1.5")
    assert dict(selection.role_hosts) == {"web": ("1.1.1.2",), "workers": ("1.1.1.4",)}
    assert selection.app_hosts == ("1.1.1.2", "1.1.1.4")


def test_primary_role_hosts_sort_first(load):
    config = load(variant(primary_role="workers", servers=SERVERS))
    selection = select(config)
    assert selection.hosts == ("1.1.1.3", "1.1.1.4", "1.1.1.1", "1.1.1.2")
    assert selection.role_names == ("workers", "web")


@pytest.mark.parametrize(("options", "message"), [
    ({"roles": "nope"}, "No --roles match for nope"),
    ({"roles": "a,b"}, "No --roles match for a,b"),
    ({"hosts": "9.9.9.9"}, "No --hosts match for 9.9.9.9"),
])
def test_no_match(config, options, message):
    with pytest.raises(UsageError) as error:
        select(config, **options)
    assert error.value.message == message


def test_founding_case_web_new(load):
    config = load(variant(servers={"web": ["10.0.0.1"], "web_new": {"hosts": ["10.0.0.2"]}},
                          accessories={"db": {"image": "mysql", "host": "10.0.0.1"}}))
    selection = select(config, roles="web_new")
    assert selection.hosts == ("10.0.0.2",)
    assert dict(selection.accessory_hosts) == {}
    assert selection.primary_host == "10.0.0.2"


def test_accessories_only_config(load):
    config = load(variant(servers=None, accessories={"db": {"image": "x", "host": "10.0.0.9"}}))
    assert select(config).hosts == ("10.0.0.9",)
    assert select(config).primary_host is None
    assert select(config, primary=True).hosts == ("10.0.0.9",)
