"""The sandbox beside a dockerd of the machine's own, whose FORWARD policy DROP hits the bridge.

Each test leaves the machine as it found it (see root_dockerd.py); run it only under the e2e
lock, like every e2e test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from root_dockerd import RootDockerd, iptables, listing

from kdeploy import sandbox as api
from kdeploy.sandbox import firewall, preflight
from kdeploy.sandbox.firewall_rules import MARK, accept_rule, comment
from kdeploy.sandbox.layout import BRIDGE

pytestmark = pytest.mark.e2e

OUR_RULE = comment(BRIDGE)


def kdeploy(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the kdeploy CLI as a user would."""
    return subprocess.run([sys.executable, "-m", "kdeploy", *args], capture_output=True,
                          text=True, check=False, cwd=cwd, timeout=300)


def reaches(info: api.SandboxInfo, source: int, target: int) -> bool:
    """True when host `source` gets the SSH banner of host `target` over the bridge."""
    address = info.host(target).address
    result = helpers.ssh(info, source, f"busybox timeout 3 busybox nc {address} 22 </dev/null",
                         check=False)
    return result.stdout.startswith("SSH-2.0-")


def our_rules(table: str = "filter") -> list[str]:
    """The sandbox's rules in the default iptables, as listed."""
    return [line for line in listing(table) if MARK in line]


def chain_of(line: str) -> str:
    return line.split()[1]


def status_warnings() -> list[str]:
    result = kdeploy("sandbox", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["warnings"]


def db_answers_from_host_2(info: api.SandboxInfo) -> str:
    """Set up the example project for real; what host 2 reads from the db port on host 1."""
    helpers.clean_hosts(info)
    setup = kdeploy("setup", "-P", "--version", "v1", cwd=info.example_dir)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return helpers.ssh(info, 2, f"for i in $(seq 50); do busybox nc {info.host(1).address} "
                                f"5432 </dev/null && break; sleep 0.1; done").stdout


# The legacy filter table as the kernel makes it on first use: no rule, every policy ACCEPT.
EMPTY_LEGACY = ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"]


def machine_tables() -> dict[str, list[str]]:
    """Every filter and nat rule but the sandbox's, in the default and the legacy iptables.

    An empty legacy table counts as none: the legacy test's first `iptables-legacy` makes the
    kernel create one on a machine that had none, which then stays (only unloading the kernel
    module would remove it), and it lets every packet through as if it were not there.
    """
    tables = {table: listing(table) for table in ("filter", "nat")}
    if firewall.legacy_present():  # never make a legacy table just by looking
        tables["legacy"] = subprocess.run(["iptables-legacy", "-w", "10", "-S"],
                                          capture_output=True, text=True, check=True
                                          ).stdout.splitlines()
    found = {name: [line for line in lines if MARK not in line] for name, lines in tables.items()}
    if found.get("legacy") == EMPTY_LEGACY:
        del found["legacy"]
    return found


@pytest.fixture
def machine_restored(sandbox: api.SandboxInfo) -> Iterator[None]:
    """Leave the sandbox running again, with its rule, and the machine's tables as found."""
    before = machine_tables()
    yield
    api.up(hosts=3)
    assert machine_tables() == before
    assert [chain_of(line) for line in our_rules()] == ["FORWARD"]


@pytest.mark.usefixtures("machine_restored")
def test_sandbox_built_beside_a_running_dockerd() -> None:
    with RootDockerd() as docker:
        assert docker.policy() == "DROP"
        api.down()
        assert not our_rules()
        info = api.up(hosts=3)

        assert reaches(info, 2, 1) and reaches(info, 3, 2)
        assert [chain_of(line) for line in our_rules()] == ["DOCKER-USER"]
        assert "kdeploy-db 1" in db_answers_from_host_2(info)
        assert status_warnings() == []

        # Without its rule, status names what drops and the fix; `up` again puts it back.
        iptables("-D", "DOCKER-USER", *accept_rule(BRIDGE, "DOCKER-USER").args)
        warnings = status_warnings()
        assert len(warnings) == 1 and "the FORWARD policy DROP drops the traffic" in warnings[0]
        assert "run `kdeploy sandbox up` again" in warnings[0]
        assert not reaches(info, 2, 1)
        again = api.up(hosts=3)
        assert [h.sshd_pid for h in again.hosts] == [h.sshd_pid for h in info.hosts]
        assert [chain_of(line) for line in our_rules()] == ["DOCKER-USER"]
        assert reaches(info, 2, 1) and status_warnings() == []

        # `down` takes out its rule and leaves Docker's alone.
        dockers = [line for line in listing("filter") if MARK not in line]
        api.down()
        assert listing("filter") == dockers


@pytest.mark.usefixtures("machine_restored")
def test_dockerd_started_after_the_sandbox(live_sandbox: api.SandboxInfo) -> None:
    info = live_sandbox
    assert [chain_of(line) for line in our_rules()] == ["FORWARD"]
    with RootDockerd() as docker:
        assert docker.policy() == "DROP"
        # A dockerd (re)started later puts its FORWARD rules before ours; they only match its
        # own bridge, so ours still decides before the policy.
        docker.restart()
        forward = [line for line in listing("filter") if line.startswith("-A FORWARD ")]
        assert forward[0] == "-A FORWARD -j DOCKER-USER"
        assert MARK in forward[-1], forward
        assert reaches(info, 2, 1) and reaches(info, 1, 3)
        assert "kdeploy-db 1" in db_answers_from_host_2(info)
        assert status_warnings() == []
        # `up` again moves the rule where Docker documents user rules, with no rebuild.
        again = api.up(hosts=3)
        assert [h.sshd_pid for h in again.hosts] == [h.sshd_pid for h in info.hosts]
        assert [chain_of(line) for line in our_rules()] == ["DOCKER-USER"]
        assert reaches(info, 2, 1)


@pytest.mark.usefixtures("machine_restored")
def test_rule_of_a_crashed_sandbox_is_a_leftover(live_sandbox: api.SandboxInfo) -> None:
    api.down()
    # What a crash between creating the rule and the bridge leaves, plus a rule of the user's.
    rule = accept_rule(BRIDGE, "FORWARD")
    iptables("-A", "FORWARD", *rule.args)
    users = ["-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]
    iptables("-A", "FORWARD", *users)
    try:
        assert firewall.has_rules()
        result = kdeploy("sandbox", "up")
        assert result.returncode == 0, result.stderr
        assert "Removing leftovers of an earlier sandbox" in result.stdout
        assert len(our_rules()) == 1
        assert kdeploy("sandbox", "down").returncode == 0
        assert not our_rules()
        assert f"-A FORWARD {' '.join(users)}" in listing("filter")
    finally:
        iptables("-D", "FORWARD", *users, check=False)


@pytest.mark.usefixtures("machine_restored")
def test_legacy_iptables_dropping_too_is_seen_and_accepted(live_sandbox: api.SandboxInfo) -> None:
    # A packet must pass the filter table of both backends when both hold one.
    names = [backend.name for backend in firewall.backends()]
    if names[:1] != ["iptables-nft"] or not preflight.find_command("iptables-legacy"):
        pytest.skip(f"needs iptables-nft as default and iptables-legacy ({names})")
    legacy = ["iptables-legacy", "-w", "10"]
    policy = subprocess.run([*legacy, "-S", "FORWARD"], capture_output=True, text=True,
                            check=True).stdout.split()[2]
    subprocess.run([*legacy, "-P", "FORWARD", "DROP"], check=True)
    try:
        warnings = status_warnings()
        assert any(w.startswith("iptables-legacy: the FORWARD policy DROP") for w in warnings)
        assert not reaches(live_sandbox, 2, 1)
        result = kdeploy("sandbox", "up")
        assert f"--> Accepting traffic between the hosts on {BRIDGE} (iptables-legacy FORWARD)" \
            in result.stdout
        assert reaches(live_sandbox, 2, 1) and status_warnings() == []
    finally:
        subprocess.run([*legacy, "-P", "FORWARD", policy], check=True)
        subprocess.run([*legacy, "-D", "FORWARD", *accept_rule(BRIDGE, "FORWARD").args],
                       capture_output=True, check=False)
