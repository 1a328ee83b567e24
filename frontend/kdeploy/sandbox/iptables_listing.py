"""An iptables filter table as data, read from `iptables -S` (its policies, chains and rules)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass


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

    @property
    def in_use(self) -> bool:
        """True when anything filters here: a rule, a user chain or a policy other than ACCEPT."""
        return bool(self.rules or self.chains or
                    any(policy != "ACCEPT" for policy in self.policies.values()))


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
