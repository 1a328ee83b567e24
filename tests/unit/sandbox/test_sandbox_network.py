"""Subnet validation and conflict detection (with `ip` output stubbed)."""

from __future__ import annotations

import pytest

from kdeploy.sandbox import network
from kdeploy.sandbox.errors import SandboxConflict


@pytest.mark.parametrize(("subnet", "message"), [
    ("10.213.7.0/33", "--subnet 10.213.7.0/33"),
    ("10.213.7.5/24", "has host bits set"),
    ("8.8.8.0/24", "must be a private IPv4 network"),
    ("10.213.7.0/29", "too small for 3 hosts"),
])
def test_bad_subnets(subnet: str, message: str) -> None:
    with pytest.raises(SandboxConflict, match=message):
        network.parse_subnet(subnet, 3)


def stub_ip(monkeypatch: pytest.MonkeyPatch, addrs: list[dict], routes: list[dict]) -> None:
    monkeypatch.setattr(network, "_ip_json",
                        lambda *args: addrs if "addr" in args else routes)


def test_subnet_on_another_interface_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stub_ip(monkeypatch, [{"ifname": "eth1", "addr_info": [{"local": "10.213.7.40",
                                                             "prefixlen": 24}]}], [])
    with pytest.raises(SandboxConflict, match="already used by interface eth1"):
        network.check_subnet_free("10.213.7.0/24")


def test_overlapping_route_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stub_ip(monkeypatch, [], [{"dst": "10.213.0.0/16", "dev": "wg0"}])
    with pytest.raises(SandboxConflict, match=r"overlaps the route 10\.213\.0\.0/16 via wg0"):
        network.check_subnet_free("10.213.7.0/24")


def test_own_bridge_and_default_route_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    stub_ip(monkeypatch,
            [{"ifname": network.BRIDGE, "addr_info": [{"local": "10.213.7.1", "prefixlen": 24}]}],
            [{"dst": "default", "dev": "eth0"}, {"dst": "10.213.7.0/24", "dev": network.BRIDGE}])
    network.check_subnet_free("10.213.7.0/24")
