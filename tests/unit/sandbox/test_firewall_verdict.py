"""What FORWARD does to a packet between two sandbox hosts on the bridge, and which rule decides."""

from __future__ import annotations

import pytest
from iptables_listings import BRIDGE, FRESH, OURS_FORWARD, OURS_USER, docker

from kdeploy.sandbox.firewall_verdict import bridge_verdict
from kdeploy.sandbox.iptables_listing import parse_table

DROPPING = FRESH.replace("FORWARD ACCEPT", "FORWARD DROP")


@pytest.mark.parametrize(("listing", "accepted", "reason"), [
    (FRESH, True, "the FORWARD policy ACCEPT"),
    (docker(), False, "the FORWARD policy DROP"),
    (docker(user_extra=OURS_USER + "\n"), True, f"the rule `{OURS_USER}`"),
    # Docker's rules before ours in FORWARD only match docker0: ours still decides.
    (docker(forward_extra=OURS_FORWARD + "\n"), True, f"the rule `{OURS_FORWARD}`"),
    (FRESH + "-A FORWARD -j REJECT --reject-with icmp-port-unreachable\n", False,
     "the rule `-A FORWARD -j REJECT --reject-with icmp-port-unreachable`"),
    (FRESH + "-A FORWARD -i kd+ -j DROP\n", False, "the rule `-A FORWARD -i kd+ -j DROP`"),
    (FRESH + "-A FORWARD -i kdsandbox0 -o kdsandbox0 -j DROP\n", False,
     "the rule `-A FORWARD -i kdsandbox0 -o kdsandbox0 -j DROP`"),
    # Matches that do not hold for every packet between the hosts are passed over.
    (FRESH + "-A FORWARD -p tcp -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD -i eth0 -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD ! -i kdsandbox0 -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD -i kdsandbox0 -o eth0 -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n", True,
     "the FORWARD policy ACCEPT"),
    (DROPPING + "-A FORWARD -p tcp -j ACCEPT\n", False, "the FORWARD policy DROP"),
    # A user chain is followed, and RETURN comes back from it.
    (DROPPING + "-N ufw\n-A FORWARD -j ufw\n-A ufw -j RETURN\n-A ufw -j ACCEPT\n", False,
     "the FORWARD policy DROP"),
    (FRESH + "-N ufw\n-A FORWARD -j ufw\n-A ufw ! -o eth0 -j DROP\n", False,
     "the rule `-A ufw ! -o eth0 -j DROP`"),
    (DROPPING + "-N a\n-N b\n-A FORWARD -j a\n-A a -j b\n-A b -j RETURN\n-A a -j ACCEPT\n",
     True, "the rule `-A a -j ACCEPT`"),
    # A jump to a chain that is not listed (a target like LOG) decides nothing.
    (DROPPING + "-A FORWARD -j LOG\n", False, "the FORWARD policy DROP"),
])
def test_bridge_verdict(listing: str, accepted: bool, reason: str) -> None:
    verdict = bridge_verdict(parse_table(listing), BRIDGE)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)
