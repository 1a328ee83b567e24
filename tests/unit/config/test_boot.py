"""Boot: limits as numbers or percentages."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.config.boot import Boot


@pytest.mark.parametrize(("limit", "hosts", "size"), [
    (None, 10, None), (3, 10, 3), ("25%", 10, 2), ("25%", 3, 1), ("100%", 7, 7), ("5", 9, 5),
])
def test_boot_group_size(limit, hosts, size):
    assert Boot(limit=limit).group_size(hosts) == size


def test_boot(load):
    boot = load(variant(boot={"limit": "25%", "wait": 2, "parallel_roles": True})).boot
    assert (boot.limit, boot.wait, boot.parallel_roles) == ("25%", 2, True)
