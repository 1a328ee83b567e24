"""Which iptables backends the sandbox changes, and how (the iptables commands stubbed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kdeploy.sandbox import firewall
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.firewall_rules import our_rules
from kdeploy.sandbox.iptables_listing import FilterTable, Rule, parse_table

BRIDGE = "kdsandbox0"
FRESH = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
DOCKER = ("-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N DOCKER-USER\n"
          "-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n")
PATHS = {"iptables": "/usr/sbin/iptables", "iptables-nft": "/usr/sbin/iptables-nft",
         "iptables-legacy": "/usr/sbin/iptables-legacy"}


class FakeIptables:
    """The filter tables of each backend, changed by -I/-D as the kernel would."""

    def __init__(self, tables: dict[str, str], default: str = "nf_tables") -> None:
        self.tables = {name: parse_table(text) for name, text in tables.items()}
        self.default = default
        self.calls: list[list[str]] = []
        self.fail: set[str] = set()  # "iptables-nft -S", "iptables-nft -I"…

    def run(self, argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        name = Path(argv[0]).name
        self.calls.append(argv)
        if argv[1:] == ["-V"]:
            return self._done(argv, f"iptables v1.8.9 ({self.default})\n")
        args = argv[argv.index("filter") + 1:]
        if f"{name} {args[0]}" in self.fail:
            return subprocess.CompletedProcess(argv, 4, "", f"{name}: no chain/target\n")
        table = self.tables[name]
        if args == ["-S"]:
            listing = "\n".join([*(f"-P {c} {p}" for c, p in table.policies.items()),
                                 *(f"-N {c}" for c in sorted(table.chains)),
                                 *(rule.describe() for rule in table.rules)])
            return self._done(argv, listing + "\n")
        rules = list(table.rules)
        if args[0] == "-I":
            rule = Rule(args[1], tuple(args[3:]))
            at = next((i for i, r in enumerate(rules) if r.chain == rule.chain), len(rules))
            rules.insert(at, rule)
        else:
            rules.remove(Rule(args[1], tuple(args[2:])))
        self.tables[name] = FilterTable(table.policies, table.chains, tuple(rules))
        return self._done(argv, "")

    @staticmethod
    def _done(argv: list[str], stdout: str) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, stdout, "")

    def ours(self, name: str) -> list[str]:
        return [rule.chain for rule in our_rules(self.tables[name])]


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Install a FakeIptables; returns a function that sets the machine up."""

    def setup(tables: dict[str, str], legacy_present: bool = False, bridge_nf: str | None = "1",
              commands: tuple[str, ...] = tuple(PATHS), default: str = "nf_tables"
              ) -> FakeIptables:
        fake = FakeIptables(tables, default)
        monkeypatch.setattr(firewall.subprocess, "run", fake.run)
        monkeypatch.setattr(firewall, "find_command",
                            lambda name: PATHS[name] if name in commands else None)
        names = tmp_path / "ip_tables_names"
        names.write_text("filter\n" if legacy_present else "")
        monkeypatch.setattr(firewall, "LEGACY_TABLES", names)
        sysctl = tmp_path / "bridge-nf-call-iptables"
        if bridge_nf is not None:
            sysctl.write_text(bridge_nf + "\n")
        monkeypatch.setattr(firewall, "BRIDGE_NF_SYSCTL", sysctl)
        return fake

    return setup


def test_without_iptables_there_is_nothing_to_do(machine) -> None:
    fake = machine({}, commands=())
    assert firewall.backends() == []
    assert firewall.ensure_accept(BRIDGE) == []
    assert not firewall.has_rules() and firewall.problems(BRIDGE) == []
    assert fake.calls == []


@pytest.mark.parametrize(("present", "names"), [
    (False, ["iptables-nft"]),  # never made by looking at it
    (True, ["iptables-nft", "iptables-legacy"]),
])
def test_backends_default_first_legacy_only_when_present(machine, present: bool,
                                                         names: list[str]) -> None:
    machine({"iptables-nft": FRESH, "iptables-legacy": FRESH}, legacy_present=present)
    assert [backend.name for backend in firewall.backends()] == names


def test_legacy_as_default(machine) -> None:
    machine({"iptables-nft": FRESH, "iptables-legacy": FRESH}, default="legacy",
            legacy_present=True)
    assert [b.name for b in firewall.backends()] == ["iptables-legacy", "iptables-nft"]


def test_ensure_adds_to_the_default_and_to_other_backends_in_use(machine) -> None:
    fake = machine({"iptables-nft": FRESH, "iptables-legacy": FRESH}, legacy_present=True)
    assert firewall.ensure_accept(BRIDGE) == ["iptables-nft FORWARD"]
    assert fake.ours("iptables-legacy") == []  # nothing filters there
    fake.tables["iptables-legacy"] = parse_table(DOCKER)
    assert firewall.ensure_accept(BRIDGE) == ["iptables-legacy DOCKER-USER"]
    assert firewall.ensure_accept(BRIDGE) == []
    assert fake.ours("iptables-nft") == ["FORWARD"]
    assert fake.ours("iptables-legacy") == ["DOCKER-USER"]


def test_remove_takes_ours_from_every_backend(machine) -> None:
    fake = machine({"iptables-nft": DOCKER, "iptables-legacy": DOCKER}, legacy_present=True)
    firewall.ensure_accept(BRIDGE)
    assert firewall.has_rules()
    firewall.remove_rules()
    assert not firewall.has_rules()
    assert fake.tables == {"iptables-nft": parse_table(DOCKER),
                           "iptables-legacy": parse_table(DOCKER)}


def test_problems_per_backend_only_with_bridge_nf(machine) -> None:
    machine({"iptables-nft": DOCKER, "iptables-legacy": DOCKER}, legacy_present=True)
    found = firewall.problems(BRIDGE)
    assert [line.split(":")[0] for line in found] == ["iptables-nft", "iptables-legacy"]
    firewall.ensure_accept(BRIDGE)
    assert firewall.problems(BRIDGE) == []


@pytest.mark.parametrize("bridge_nf", ["0", None])
def test_no_problem_when_bridged_packets_skip_iptables(machine, bridge_nf: str | None) -> None:
    machine({"iptables-nft": DOCKER}, bridge_nf=bridge_nf)
    assert firewall.problems(BRIDGE) == []


def test_unreadable_backend_is_skipped(machine) -> None:
    fake = machine({"iptables-nft": DOCKER})
    fake.fail.add("iptables-nft -S")
    assert firewall.ensure_accept(BRIDGE) == [] and firewall.problems(BRIDGE) == []


def test_refused_change_names_the_command(machine) -> None:
    fake = machine({"iptables-nft": DOCKER})
    fake.fail.add("iptables-nft -I")
    with pytest.raises(SandboxError, match=r"iptables-nft failed \(exit 4\): "
                                           r"/usr/sbin/iptables-nft -w 10 -t filter -I "
                                           r"DOCKER-USER 1 -i kdsandbox0"):
        firewall.ensure_accept(BRIDGE)
