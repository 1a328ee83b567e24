"""Selection.proxy_hosts: Kamal's `config.proxy_hosts & specified_hosts` (Commander#proxy_hosts)."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.selection import select

SERVERS = {
    "web": ["1.1.1.1", "1.1.1.2"],
    "api": {"hosts": ["1.1.1.3"], "proxy": True},
    "workers": ["1.1.1.2", "1.1.1.4"],
}


@pytest.fixture
def config(load):
    return load(variant(servers=SERVERS,
                        accessories={"db": {"image": "mysql", "host": "1.1.1.5"}}))


@pytest.mark.parametrize(("options", "proxy_hosts"), [
    # Kamal's role order (alphabetical: api before web), whatever the primary role.
    ({}, ("1.1.1.3", "1.1.1.1", "1.1.1.2")),
    ({"roles": "web"}, ("1.1.1.1", "1.1.1.2")),
    # A worker host that also carries a proxy role keeps the proxy (Kamal's Commander#proxy_hosts).
    ({"roles": "workers"}, ("1.1.1.2",)),
    ({"hosts": "1.1.1.4,1.1.1.5"}, ()),
    ({"hosts": "1.1.1.3"}, ("1.1.1.3",)),
    ({"primary": True}, ("1.1.1.1",)),
])
def test_proxy_hosts(config, options, proxy_hosts):
    assert select(config, **options).proxy_hosts == proxy_hosts


def test_no_proxy_roles(load):
    config = load(variant(servers={"web": {"hosts": ["1.1.1.1"], "proxy": False}}))
    assert select(config).proxy_hosts == ()
