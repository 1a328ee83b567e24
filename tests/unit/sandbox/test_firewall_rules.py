"""The sandbox's iptables rules as data: parsing, planning, and what FORWARD does to the bridge.

The listings are `iptables -S` as a root-namespace dockerd 20.10 (Debian 12) leaves it, with
its bridge `docker0`.
"""

from __future__ import annotations

import pytest

from kdeploy.sandbox.firewall_rules import (
    DELETE,
    INSERT,
    Changes,
    FilterTable,
    Rule,
    accept_rule,
    bridge_verdict,
    drop_warning,
    parse_table,
    plan_accept,
    plan_removal,
    step_args,
    wanted_chain,
)

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


def test_parse_reads_policies_chains_and_rules_in_order() -> None:
    table = parse_table(docker(user_extra=OURS_USER + "\n"))
    assert table.policies == {"INPUT": "ACCEPT", "FORWARD": "DROP", "OUTPUT": "ACCEPT"}
    assert table.chains == {"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2",
                            "DOCKER-USER"}
    assert [r.target for r in table.chain_rules("DOCKER-USER")] == ["ACCEPT", "RETURN"]
    assert table.chain_rules("FORWARD")[2] == Rule("FORWARD", (
        "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"))
    assert table.ours() == [accept_rule(BRIDGE, "DOCKER-USER")]


def test_our_rule_reads_back_as_iptables_lists_it() -> None:
    listed = ('-A FORWARD -i kdsandbox0 -o kdsandbox0 -m comment --comment '
              '"kdeploy-sandbox: accept traffic between sandbox hosts on kdsandbox0" -j ACCEPT')
    assert parse_table(listed).rules == (accept_rule(BRIDGE, "FORWARD"),)
    assert accept_rule(BRIDGE, "FORWARD").describe() == listed
    quoted = Rule("X", ("-m", "comment", "--comment", 'say "hi" \\ bye', "-j", "ACCEPT"))
    assert parse_table(quoted.describe()).rules == (quoted,)


@pytest.mark.parametrize("line", ["-X DOCKER", "iptables v1.8.9", "-P FORWARD"])
def test_parse_refuses_what_is_not_a_listing(line: str) -> None:
    with pytest.raises(ValueError, match="not an iptables -S line"):
        parse_table(FRESH + line)


def test_only_comments_with_the_mark_are_ours() -> None:
    table = parse_table(FRESH +
                        "-A FORWARD -i kdsandbox0 -o kdsandbox0 -j ACCEPT\n"
                        '-A FORWARD -m comment --comment "kdeploy-sandbox is great" -j ACCEPT\n'
                        '-A FORWARD -m comment --comment "kdeploy-sandbox: old rule" -j ACCEPT\n')
    assert [r.comment for r in table.ours()] == ["kdeploy-sandbox: old rule"]


@pytest.mark.parametrize(("listing", "chain"), [
    (FRESH, "FORWARD"),
    (docker(), "DOCKER-USER"),
    # The chain without Docker's jump to it decides nothing.
    (FRESH + "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n", "FORWARD"),
])
def test_wanted_chain(listing: str, chain: str) -> None:
    assert wanted_chain(parse_table(listing)) == chain


@pytest.mark.parametrize(("listing", "steps"), [
    # Fresh machine: first in FORWARD, so a dockerd started later finds it there.
    (FRESH, ((INSERT, accept_rule(BRIDGE, "FORWARD")),)),
    # Beside a running dockerd: in DOCKER-USER.
    (docker(), ((INSERT, accept_rule(BRIDGE, "DOCKER-USER")),)),
    # Re-up: nothing to do.
    (docker(user_extra=OURS_USER + "\n"), ()),
    (FRESH + OURS_FORWARD + "\n", ()),
    # A dockerd started after the sandbox: moved to DOCKER-USER, inserted before removed.
    (docker(forward_extra=OURS_FORWARD + "\n"),
     ((INSERT, accept_rule(BRIDGE, "DOCKER-USER")), (DELETE, accept_rule(BRIDGE, "FORWARD")))),
    # A second copy goes.
    (docker(user_extra=f"{OURS_USER}\n{OURS_USER}\n"),
     ((DELETE, accept_rule(BRIDGE, "DOCKER-USER")),)),
])
def test_plan_accept(listing: str, steps: tuple) -> None:
    assert plan_accept(parse_table(listing), BRIDGE).steps == steps


def test_plan_accept_removes_ours_for_another_bridge() -> None:
    other = accept_rule("kdold0", "FORWARD")
    table = parse_table(docker(user_extra=OURS_USER + "\n") + other.describe())
    assert plan_accept(table, BRIDGE).steps == ((DELETE, other),)


def test_rule_behind_a_catch_all_reject_is_moved_first() -> None:
    reject = "-A FORWARD -j REJECT --reject-with icmp-port-unreachable\n"
    table = parse_table(FRESH + reject + OURS_FORWARD + "\n")
    assert not bridge_verdict(table, BRIDGE).accepted
    changes = plan_accept(table, BRIDGE)
    ours = accept_rule(BRIDGE, "FORWARD")
    # Deleted first: deleting after inserting would remove the new copy.
    assert changes.steps == ((DELETE, ours), (INSERT, ours))
    assert bridge_verdict(apply(table, changes), BRIDGE).accepted
    assert plan_accept(apply(table, changes), BRIDGE).steps == ()


@pytest.mark.parametrize("listing", [
    FRESH,
    docker(),
    docker(forward_extra=OURS_FORWARD + "\n"),
    FRESH + "-A FORWARD -j DROP\n",
])
def test_applying_the_plan_accepts_and_a_second_plan_is_empty(listing: str) -> None:
    table = apply(parse_table(listing), plan_accept(parse_table(listing), BRIDGE))
    assert bridge_verdict(table, BRIDGE).accepted
    assert plan_accept(table, BRIDGE).steps == ()
    assert len(table.ours()) == 1


def test_both_orders_hold_whatever_docker_puts_first() -> None:
    # Sandbox first (its rule first in FORWARD), then dockerd: its start and every restart
    # insert its rules before ours. They match only docker0, so ours still decides.
    sandbox_first = parse_table(docker(forward_extra=OURS_FORWARD + "\n"))
    assert sandbox_first.chain_rules("FORWARD")[0].target == "DOCKER-USER"
    assert bridge_verdict(sandbox_first, BRIDGE).accepted
    # dockerd first: ours in DOCKER-USER, which FORWARD jumps to first.
    docker_first = apply(parse_table(docker()), plan_accept(parse_table(docker()), BRIDGE))
    assert bridge_verdict(docker_first, BRIDGE).accepted
    assert bridge_verdict(docker_first, BRIDGE).reason == f"the rule `{OURS_USER}`"


def test_plan_removal_takes_only_ours() -> None:
    table = parse_table(docker(forward_extra=OURS_FORWARD + "\n", user_extra=OURS_USER + "\n"))
    changes = plan_removal(table)
    assert changes.steps == ((DELETE, accept_rule(BRIDGE, "FORWARD")),
                             (DELETE, accept_rule(BRIDGE, "DOCKER-USER")))
    assert apply(table, changes) == parse_table(docker())
    assert plan_removal(parse_table(docker())).steps == ()


def test_step_args() -> None:
    rule = accept_rule(BRIDGE, "DOCKER-USER")
    assert step_args(INSERT, rule) == ["-I", "DOCKER-USER", "1", *rule.args]
    assert step_args(DELETE, rule) == ["-D", "DOCKER-USER", *rule.args]


@pytest.mark.parametrize(("listing", "accepted", "reason"), [
    (FRESH, True, "the FORWARD policy ACCEPT"),
    (docker(), False, "the FORWARD policy DROP"),
    (docker(user_extra=OURS_USER + "\n"), True, f"the rule `{OURS_USER}`"),
    (FRESH + "-A FORWARD -j REJECT --reject-with icmp-port-unreachable\n", False,
     "the rule `-A FORWARD -j REJECT --reject-with icmp-port-unreachable`"),
    (FRESH + "-A FORWARD -i kd+ -j DROP\n", False, "the rule `-A FORWARD -i kd+ -j DROP`"),
    # Matches that do not hold for every packet between the hosts are passed over.
    (FRESH + "-A FORWARD -p tcp -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD -i eth0 -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD ! -i kdsandbox0 -j DROP\n", True, "the FORWARD policy ACCEPT"),
    (FRESH + "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n", True,
     "the FORWARD policy ACCEPT"),
    # A user chain is followed, and RETURN comes back from it.
    (FRESH.replace("FORWARD ACCEPT", "FORWARD DROP") + "-N ufw\n-A FORWARD -j ufw\n"
     "-A ufw -j RETURN\n-A ufw -j ACCEPT\n", False, "the FORWARD policy DROP"),
    (FRESH + "-N ufw\n-A FORWARD -j ufw\n-A ufw ! -o eth0 -j DROP\n", False,
     "the rule `-A ufw ! -o eth0 -j DROP`"),
])
def test_bridge_verdict(listing: str, accepted: bool, reason: str) -> None:
    verdict = bridge_verdict(parse_table(listing), BRIDGE)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)


def test_drop_warning_names_backend_cause_and_fix() -> None:
    warning = drop_warning(parse_table(docker()), BRIDGE, "iptables-nft")
    assert warning == ("iptables-nft: the FORWARD policy DROP drops the traffic between sandbox "
                       "hosts on kdsandbox0 (net.bridge.bridge-nf-call-iptables = 1); run "
                       "`kdeploy sandbox up` again to add kdeploy's accept rule")
    assert drop_warning(parse_table(docker(user_extra=OURS_USER + "\n")), BRIDGE, "x") is None


def test_drop_warning_when_up_cannot_help() -> None:
    # A drop before Docker's jump to DOCKER-USER, where our rule already comes first.
    listing = docker(user_extra=OURS_USER + "\n").replace(
        "-A FORWARD -j DOCKER-USER\n", "-A FORWARD -j DROP\n-A FORWARD -j DOCKER-USER\n")
    table = parse_table(listing)
    assert plan_accept(table, BRIDGE).steps == ()
    warning = drop_warning(table, BRIDGE, "iptables-nft")
    assert warning is not None and "the rule `-A FORWARD -j DROP` drops" in warning
    assert warning.endswith("kdeploy's accept rule cannot come before it: accept "
                            "kdsandbox0's traffic ahead of it yourself")


def test_in_use() -> None:
    assert not parse_table(FRESH).in_use
    assert parse_table(FRESH.replace("FORWARD ACCEPT", "FORWARD DROP")).in_use
    assert parse_table(FRESH + "-N DOCKER-USER\n").in_use
