"""The sandbox's iptables rules as data: parse `iptables -S`, plan changes, judge the bridge.

Pure: no command runs here. `firewall.py` reads the tables and applies what this plans.

With `net.bridge.bridge-nf-call-iptables = 1`, a packet from one sandbox host to another on the
bridge goes through the filter table's FORWARD chain with the bridge as both in- and
out-interface. A root-namespace dockerd sets that chain's policy to DROP, so the sandbox
accepts its own bridge's traffic with one marked rule.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

FORWARD = "FORWARD"
DOCKER_USER = "DOCKER-USER"
# Every rule the sandbox adds carries a comment starting with this: `down` removes exactly these.
MARK = "kdeploy-sandbox:"
TERMINAL_DROPS = ("DROP", "REJECT")
MAX_DEPTH = 16  # iptables refuses jump loops; this only bounds a malformed listing


@dataclass(frozen=True)
class Rule:
    """One rule of the filter table: its chain and its arguments as `iptables -S` lists them."""

    chain: str
    args: tuple[str, ...]

    @property
    def comment(self) -> str | None:
        """The value of `--comment`, None without one."""
        return _option(self.args, "--comment")

    @property
    def target(self) -> str | None:
        """The `-j` target (ACCEPT, DROP, a user chain…), None without one."""
        return _option(self.args, "-j")

    @property
    def ours(self) -> bool:
        """True when the sandbox added this rule (its comment carries the mark)."""
        return (self.comment or "").startswith(MARK)

    def describe(self) -> str:
        """The rule as `iptables -S` prints it."""
        return " ".join(_quote(word) for word in ("-A", self.chain, *self.args))


@dataclass(frozen=True)
class FilterTable:
    """The filter table of one iptables backend: policies, user chains and rules in order."""

    policies: dict[str, str]
    chains: frozenset[str]
    rules: tuple[Rule, ...]

    def chain_rules(self, chain: str) -> list[Rule]:
        """The rules of `chain`, in the order the kernel evaluates them."""
        return [rule for rule in self.rules if rule.chain == chain]

    def ours(self) -> list[Rule]:
        """Every rule the sandbox added, in any chain."""
        return [rule for rule in self.rules if rule.ours]

    @property
    def in_use(self) -> bool:
        """True when anything filters here: a rule, a user chain or a policy other than ACCEPT."""
        return bool(self.rules or self.chains or
                    any(policy != "ACCEPT" for policy in self.policies.values()))


INSERT = "insert"
DELETE = "delete"


@dataclass(frozen=True)
class Changes:
    """Ordered steps, each (`insert` first in its chain | `delete` the first copy, rule)."""

    steps: tuple[tuple[str, Rule], ...] = ()

    @property
    def inserted(self) -> list[Rule]:
        """The rules these changes add."""
        return [rule for action, rule in self.steps if action == INSERT]


@dataclass(frozen=True)
class Verdict:
    """What the filter table does to traffic between two sandbox hosts, and which rule decides."""

    accepted: bool
    reason: str  # "the rule `-A FORWARD -j DROP`", "the FORWARD policy DROP"


def parse_table(text: str) -> FilterTable:
    """Parse `iptables -S` output (one table); warnings and blank lines are skipped.

    Raises:
        ValueError: a line that is not `-P`, `-N` or `-A` (not iptables output).
    """
    policies: dict[str, str] = {}
    chains: set[str] = set()
    rules: list[Rule] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        words = shlex.split(line)
        if words[0] == "-P" and len(words) == 3:
            policies[words[1]] = words[2]
        elif words[0] == "-N" and len(words) == 2:
            chains.add(words[1])
        elif words[0] == "-A" and len(words) >= 2:
            rules.append(Rule(words[1], tuple(words[2:])))
        else:
            raise ValueError(f"not an iptables -S line: {line}")
    return FilterTable(policies, frozenset(chains), tuple(rules))


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
    ours = table.ours()
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


def plan_removal(table: FilterTable) -> Changes:
    """The steps that remove every rule of the sandbox and nothing else."""
    return Changes(_deletes(table.ours()))


def step_args(action: str, rule: Rule) -> list[str]:
    """`iptables` arguments of one step: insert `rule` first in its chain, or delete it."""
    if action == INSERT:
        return ["-I", rule.chain, "1", *rule.args]
    return ["-D", rule.chain, *rule.args]


def _deletes(rules: Iterable[Rule]) -> tuple[tuple[str, Rule], ...]:
    return tuple((DELETE, rule) for rule in rules)


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


def _quote(word: str) -> str:
    # As iptables quotes: double quotes around a word with blanks or quotes, `!` left bare.
    if word and not any(char.isspace() or char in "\"'\\" for char in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _option(args: Iterable[str], flag: str) -> str | None:
    words = list(args)
    for index, word in enumerate(words[:-1]):
        if word == flag:
            return words[index + 1]
    return None
