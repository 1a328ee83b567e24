"""The sandbox's own iptables rule: build it, and plan the steps that add, move or remove it.

Pure: no command runs here. `firewall.py` reads the tables and applies what this plans.

A root-namespace dockerd sets the FORWARD policy to DROP, and with br_netfilter that drops the
packets between sandbox hosts on the bridge; the sandbox accepts them with one marked rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kdeploy.sandbox.firewall_verdict import FORWARD, bridge_verdict
from kdeploy.sandbox.iptables_listing import FilterTable, Rule
from kdeploy.sandbox.layout import MAX_INSTANCE, instance_names

DOCKER_USER = "DOCKER-USER"
# Every rule the sandbox adds carries a comment starting with this: `down` removes exactly these.
MARK = "kdeploy-sandbox:"
INSERT = "insert"
INSTANCE_BRIDGES = tuple(instance_names(n).bridge for n in range(MAX_INSTANCE + 1))
DELETE = "delete"


@dataclass(frozen=True)
class Changes:
    """Ordered steps, each (`insert` first in its chain | `delete` the first copy, rule)."""

    steps: tuple[tuple[str, Rule], ...] = ()

    @property
    def inserted(self) -> list[Rule]:
        """The rules these changes add."""
        return [rule for action, rule in self.steps if action == INSERT]


def is_ours(rule: Rule) -> bool:
    """True when the sandbox added `rule` (its comment carries the mark)."""
    return (rule.comment or "").startswith(MARK)


def our_rules(table: FilterTable, bridge: str | None = None) -> list[Rule]:
    """Every rule the sandbox added to `table`, in any chain; with `bridge`, none of another's.

    Another sandbox instance on this machine has its own bridge and rule: leaving out the
    rules of other instances' bridges keeps one instance's `up` and `down` away from the other's.
    """
    return [rule for rule in table.rules
            if is_ours(rule) and (bridge is None or not _for_other_bridge(rule, bridge))]


def _for_other_bridge(rule: Rule, bridge: str) -> bool:
    # Only another instance's bridge is spared: a rule for a bridge no instance uses any more
    # is a leftover that `up` and `down` clear.
    return rule.comment in {comment(name) for name in INSTANCE_BRIDGES} - {comment(bridge)}


def comment(bridge: str) -> str:
    """The comment that marks the sandbox's rule for `bridge`."""
    return f"{MARK} accept traffic between sandbox hosts on {bridge}"


def accept_rule(bridge: str, chain: str) -> Rule:
    """The rule that accepts packets bridged between two ports of `bridge`, in `chain`."""
    return Rule(chain, ("-i", bridge, "-o", bridge, "-m", "comment", "--comment",
                        comment(bridge), "-j", "ACCEPT"))


def wanted_chain(table: FilterTable) -> str:
    """DOCKER-USER when a dockerd made it and FORWARD jumps there, otherwise FORWARD.

    Docker documents DOCKER-USER as the place for the user's rules and, at each start, puts
    the jump to it first in FORWARD.
    """
    jumps = any(rule.target == DOCKER_USER for rule in table.chain_rules(FORWARD))
    return DOCKER_USER if DOCKER_USER in table.chains and jumps else FORWARD


def plan_accept(table: FilterTable, bridge: str) -> Changes:
    """The steps that leave one accept rule for `bridge` in the wanted chain, none else of ours.

    A rule of ours already in the wanted chain stays (re-up is a no-op) while the bridge's
    traffic is accepted, or when it is first in its chain and cannot be placed any earlier.
    Otherwise the rule is (re)inserted first in the chain: after a rule that drops the traffic
    it came too late. Docker's own FORWARD rules only match Docker's bridges, so a rule behind
    them still decides; only its chain's policy, or another firewall's catch-all, drops.
    """
    wanted = accept_rule(bridge, wanted_chain(table))
    ours = our_rules(table, bridge)
    copies = [rule for rule in ours if rule == wanted]
    others = [rule for rule in ours if rule != wanted]
    first = next(iter(table.chain_rules(wanted.chain)), None)
    if copies and (bridge_verdict(table, bridge).accepted or first == wanted):
        return Changes(_deletes([*others, *copies[1:]]))
    if copies:
        # Deleting after inserting would take out the new copy (-D removes the first match).
        return Changes((*_deletes(ours), (INSERT, wanted)))
    # Inserting first leaves no moment in which the bridge's traffic is dropped.
    return Changes(((INSERT, wanted), *_deletes(ours)))


def plan_removal(table: FilterTable, bridge: str | None = None) -> Changes:
    """The steps that remove every rule of the sandbox (or of `bridge`'s) and nothing else."""
    return Changes(_deletes(our_rules(table, bridge)))


def step_args(action: str, rule: Rule) -> list[str]:
    """`iptables` arguments of one step: insert `rule` first in its chain, or delete it."""
    if action == INSERT:
        return ["-I", rule.chain, "1", *rule.args]
    return ["-D", rule.chain, *rule.args]


def drop_warning(table: FilterTable, bridge: str, backend: str) -> str | None:
    """The warning `sandbox status` shows when `table` drops the bridge's traffic, else None.

    It names the backend and what drops, and the fix: `up` again, unless `up` would change
    nothing (kdeploy's rule is first in its chain and the drop comes before that chain).
    """
    verdict = bridge_verdict(table, bridge)
    if verdict.accepted:
        return None
    fix = ("run `kdeploy sandbox up` again to add kdeploy's accept rule"
           if plan_accept(table, bridge).inserted else
           f"kdeploy's accept rule cannot come before it: accept {bridge}'s traffic "
           f"ahead of it yourself")
    return (f"{backend}: {verdict.reason} drops the traffic between sandbox hosts on {bridge} "
            f"(net.bridge.bridge-nf-call-iptables = 1); {fix}")


def _deletes(rules: Iterable[Rule]) -> tuple[tuple[str, Rule], ...]:
    return tuple((DELETE, rule) for rule in rules)
