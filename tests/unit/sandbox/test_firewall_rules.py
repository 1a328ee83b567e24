"""The sandbox's own rule: where it goes, the steps that add, move and remove it, the warning."""

from __future__ import annotations

import pytest
from iptables_listings import BRIDGE, FRESH, OURS_FORWARD, OURS_USER, apply, docker

from kdeploy.sandbox.firewall_rules import (
    DELETE,
    INSERT,
    accept_rule,
    drop_warning,
    our_rules,
    plan_accept,
    plan_removal,
    step_args,
    wanted_chain,
)
from kdeploy.sandbox.firewall_verdict import bridge_verdict
from kdeploy.sandbox.iptables_listing import parse_table


def test_only_comments_with_the_mark_are_ours() -> None:
    table = parse_table(FRESH +
                        "-A FORWARD -i kdsandbox0 -o kdsandbox0 -j ACCEPT\n"
                        '-A FORWARD -m comment --comment "kdeploy-sandbox is great" -j ACCEPT\n'
                        '-A FORWARD -m comment --comment "kdeploy-sandbox: old rule" -j ACCEPT\n')
    assert [r.comment for r in our_rules(table)] == ["kdeploy-sandbox: old rule"]


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
    assert len(our_rules(table)) == 1


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


def test_another_instances_rule_is_left_alone() -> None:
    # Instance 1 (kdsandbox1) runs beside instance 0: its up and down keep instance 0's rule,
    # and still clear an unnamed leftover of ours.
    other = accept_rule("kdsandbox1", "FORWARD").describe()
    leftover = '-A FORWARD -m comment --comment "kdeploy-sandbox: old rule" -j ACCEPT'
    table = parse_table(FRESH + f"{OURS_FORWARD}\n{leftover}\n")
    assert plan_removal(table, "kdsandbox1").steps == (
        (DELETE, parse_table(FRESH + leftover + "\n").rules[0]),)
    after_up = apply(table, plan_accept(table, "kdsandbox1"))
    assert [r.describe() for r in our_rules(after_up)] == [other, OURS_FORWARD]
    after_down = apply(after_up, plan_removal(after_up, "kdsandbox1"))
    assert [r.describe() for r in our_rules(after_down)] == [OURS_FORWARD]
    assert bridge_verdict(after_down, BRIDGE).accepted
