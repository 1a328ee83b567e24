"""What a filter table does to a packet bridged between two ports of the sandbox's bridge.

With `net.bridge.bridge-nf-call-iptables = 1`, such a packet goes through FORWARD with the
bridge as both its in- and its out-interface. Pure: the table is read elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdeploy.sandbox.iptables_listing import FilterTable

FORWARD = "FORWARD"
TERMINAL_DROPS = ("DROP", "REJECT")
MAX_DEPTH = 16  # iptables refuses jump loops; this only bounds a malformed listing


@dataclass(frozen=True)
class Verdict:
    """Whether the traffic is accepted, and what decides it."""

    accepted: bool
    reason: str  # "the rule `-A FORWARD -j DROP`", "the FORWARD policy DROP"


def bridge_verdict(table: FilterTable, bridge: str) -> Verdict:
    """Follow FORWARD (and the chains it jumps to) for a packet from `bridge` to `bridge`.

    Only matches that can be decided for such a packet count: `-i`/`-o` (with `!` and `+`)
    and comments. A rule with any other match (a protocol, an address, conntrack…) may not
    apply to every packet, so it is passed over; an unconditional DROP or REJECT is not.
    """
    verdict = _walk(table, FORWARD, bridge, 0)
    if verdict is not None:
        return verdict
    policy = table.policies.get(FORWARD, "ACCEPT")
    return Verdict(policy == "ACCEPT", f"the {FORWARD} policy {policy}")


def _walk(table: FilterTable, chain: str, bridge: str, depth: int) -> Verdict | None:
    if depth > MAX_DEPTH:
        return None
    for rule in table.chain_rules(chain):
        if not _matches(rule.args, bridge):
            continue
        target = rule.target
        if target == "ACCEPT":
            return Verdict(True, f"the rule `{rule.describe()}`")
        if target in TERMINAL_DROPS:
            return Verdict(False, f"the rule `{rule.describe()}`")
        if target == "RETURN":
            return None
        if target in table.chains:
            verdict = _walk(table, target, bridge, depth + 1)
            if verdict is not None:
                return verdict
    return None


def _matches(args: tuple[str, ...], bridge: str) -> bool:
    """True only when every match of the rule surely holds for bridge-to-bridge traffic."""
    words = list(args)
    negate = False
    while words:
        word = words.pop(0)
        if word == "!":
            negate = True
            continue
        if word in ("-i", "-o") and words:
            if _interface_matches(words.pop(0), bridge) == negate:
                return False
        elif word == "-j":
            return True  # what follows is the target and its options, not a match
        elif word in ("-m", "--comment") and words and (word != "-m" or words[0] == "comment"):
            words.pop(0)  # the comment module and its comment match every packet
        else:
            return False  # a match we cannot decide (or `-g`): pass the rule over
        negate = False
    return True


def _interface_matches(pattern: str, name: str) -> bool:
    # iptables: a trailing `+` matches every interface whose name starts with the rest.
    return name.startswith(pattern[:-1]) if pattern.endswith("+") else name == pattern
