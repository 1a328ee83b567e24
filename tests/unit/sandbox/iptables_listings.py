"""`iptables -S` listings for the firewall tests, as a root-namespace dockerd 20.10 (Debian 12)
leaves them with its bridge `docker0`."""

from __future__ import annotations

from kdeploy.sandbox.firewall_rules import INSERT, Changes, accept_rule
from kdeploy.sandbox.iptables_listing import FilterTable

BRIDGE = "kdsandbox0"
OURS_FORWARD = accept_rule(BRIDGE, "FORWARD").describe()
OURS_USER = accept_rule(BRIDGE, "DOCKER-USER").describe()

FRESH = """\
-P INPUT ACCEPT
-P FORWARD ACCEPT
-P OUTPUT ACCEPT
"""
DOCKER_CHAINS = """\
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-ISOLATION-STAGE-2
-N DOCKER-USER
"""
DOCKER_FORWARD = """\
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
"""
DOCKER_REST = """\
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
"""
USER_RETURN = "-A DOCKER-USER -j RETURN\n"
# iptables-nft warns on stderr, but a listing piped through a shell may carry the line.
WARNING = "# Warning: iptables-legacy tables present, use iptables-legacy to see them\n"


def docker(forward_extra: str = "", user_extra: str = "") -> str:
    """The listing after dockerd started, with our rules (lines) added where given."""
    return (WARNING + FRESH.replace("FORWARD ACCEPT", "FORWARD DROP") + DOCKER_CHAINS +
            DOCKER_FORWARD + forward_extra + DOCKER_REST + user_extra + USER_RETURN)


def apply(table: FilterTable, changes: Changes) -> FilterTable:
    """What the kernel does with the steps: -I puts a rule first, -D removes the first copy."""
    rules = list(table.rules)
    for action, rule in changes.steps:
        if action == INSERT:
            index = next((i for i, r in enumerate(rules) if r.chain == rule.chain), len(rules))
            rules.insert(index, rule)
        else:
            rules.remove(rule)
    return FilterTable(table.policies, table.chains, tuple(rules))
