"""Reading `iptables -S`: policies, chains, rules in order, and rules printed back as listed."""

from __future__ import annotations

import pytest
from iptables_listings import BRIDGE, FRESH, OURS_USER, docker

from kdeploy.sandbox.firewall_rules import accept_rule
from kdeploy.sandbox.iptables_listing import Rule, parse_table


def test_parse_reads_policies_chains_and_rules_in_order() -> None:
    table = parse_table(docker(user_extra=OURS_USER + "\n"))
    assert table.policies == {"INPUT": "ACCEPT", "FORWARD": "DROP", "OUTPUT": "ACCEPT"}
    assert table.chains == {"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2",
                            "DOCKER-USER"}
    assert [r.target for r in table.chain_rules("DOCKER-USER")] == ["ACCEPT", "RETURN"]
    assert table.chain_rules("FORWARD")[2] == Rule("FORWARD", (
        "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"))
    assert table.chain_rules("DOCKER-USER")[0] == accept_rule(BRIDGE, "DOCKER-USER")


def test_rules_read_back_as_iptables_lists_them() -> None:
    listed = ('-A FORWARD -i kdsandbox0 -o kdsandbox0 -m comment --comment '
              '"kdeploy-sandbox: accept traffic between sandbox hosts on kdsandbox0" -j ACCEPT')
    assert parse_table(listed).rules == (accept_rule(BRIDGE, "FORWARD"),)
    assert accept_rule(BRIDGE, "FORWARD").describe() == listed
    assert parse_table("-A FORWARD ! -i eth0 -j DROP").rules[0].describe() == \
        "-A FORWARD ! -i eth0 -j DROP"
    quoted = Rule("X", ("-m", "comment", "--comment", 'say "hi" \\ bye', "-j", "ACCEPT"))
    assert parse_table(quoted.describe()).rules == (quoted,)


@pytest.mark.parametrize("line", ["-X DOCKER", "iptables v1.8.9", "-P FORWARD"])
def test_parse_refuses_what_is_not_a_listing(line: str) -> None:
    with pytest.raises(ValueError, match="not an iptables -S line"):
        parse_table(FRESH + line)


def test_comment_and_target() -> None:
    rule = parse_table('-A F -m comment --comment "a b" -j REJECT --reject-with tcp-reset').rules[0]
    assert (rule.comment, rule.target) == ("a b", "REJECT")
    assert (Rule("F", ()).comment, Rule("F", ()).target) == (None, None)


def test_in_use() -> None:
    assert not parse_table(FRESH).in_use
    assert parse_table(FRESH.replace("FORWARD ACCEPT", "FORWARD DROP")).in_use
    assert parse_table(FRESH + "-N DOCKER-USER\n").in_use
    assert parse_table(FRESH + "-A INPUT -j ACCEPT\n").in_use
