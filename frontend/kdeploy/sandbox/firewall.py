"""Keep the bridge's traffic flowing beside a root-namespace dockerd: iptables accept rules.

The rules themselves are planned in `firewall_rules`; this module finds the iptables backends
(nf_tables and legacy can both hold a filter table, and a packet must pass both), reads them and
applies the plan. Without iptables, or without br_netfilter, bridged traffic never meets
iptables and there is nothing to do.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from kdeploy.sandbox import firewall_rules as rules
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.iptables_listing import FilterTable, parse_table
from kdeploy.sandbox.preflight import find_command

BRIDGE_NF_SYSCTL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
# The legacy filter table exists once something used it; reading it through iptables-legacy
# would create it, so it is only looked at when the kernel already lists it here.
LEGACY_TABLES = Path("/proc/net/ip_tables_names")
WAIT = ("-w", "10")  # wait for the xtables lock rather than fail beside a busy dockerd


@dataclass(frozen=True)
class Backend:
    """One iptables command: `iptables-nft`, `iptables-legacy`, or a plain `iptables`."""

    name: str
    path: str


def bridge_nf_enabled() -> bool:
    """True when bridged IPv4 packets go through iptables (br_netfilter on, sysctl 1)."""
    try:
        return BRIDGE_NF_SYSCTL.read_text().strip() == "1"
    except OSError:
        return False


def ensure_accept(bridge: str) -> list[str]:
    """Make every backend in use accept traffic between ports of `bridge`; idempotent.

    Returns:
        One line per rule added, e.g. `iptables-nft DOCKER-USER` (empty when all was in place).

    Raises:
        SandboxError: a backend could be read but refused the change.
    """
    added = []
    for backend, table in _tables():
        changes = rules.plan_accept(table, bridge)
        _apply(backend, changes)
        added += [f"{backend.name} {rule.chain}" for rule in changes.inserted]
    return added


def remove_rules(bridge: str | None = None) -> None:
    """Delete every rule the sandbox added for `bridge` (None: any), in every backend.

    Raises:
        SandboxError: a backend refused to delete one of its rules.
    """
    for backend, table in _tables():
        _apply(backend, rules.plan_removal(table, bridge))


def has_rules(bridge: str | None = None) -> bool:
    """True when some backend still holds a rule of the sandbox for `bridge` (None: any)."""
    return any(rules.our_rules(table, bridge) for _, table in _tables())


def problems(bridge: str) -> list[str]:
    """Why traffic between sandbox hosts on `bridge` is dropped, one line per backend (or [])."""
    if not bridge_nf_enabled():
        return []
    found = [rules.drop_warning(table, bridge, backend.name) for backend, table in _tables()]
    return [warning for warning in found if warning]


def backends() -> list[Backend]:
    """The iptables commands whose filter table can hold rules here, default first."""
    default = _default_backend()
    if default is None:
        return []
    found = [default]
    for name in ("iptables-nft", "iptables-legacy"):
        path = find_command(name)
        if path and name != default.name and (name != "iptables-legacy" or legacy_present()):
            found.append(Backend(name, path))
    return found


def _default_backend() -> Backend | None:
    # `iptables` is what a dockerd started later will use; -V names its variant.
    path = find_command("iptables")
    if path is None:
        return None
    result = subprocess.run([path, "-V"], capture_output=True, text=True, check=False)
    variant = {"(nf_tables)": "iptables-nft", "(legacy)": "iptables-legacy"}
    for word, name in variant.items():
        if word in result.stdout:
            return Backend(name, find_command(name) or path)
    return Backend("iptables", path)


def legacy_present() -> bool:
    """True when the kernel holds a legacy (xtables) filter table, e.g. made by iptables-legacy."""
    try:
        return "filter" in LEGACY_TABLES.read_text().split()
    except OSError:
        return False


def _tables() -> list[tuple[Backend, FilterTable]]:
    """Each readable backend with its filter table: the default one always, others in use."""
    found = []
    for index, backend in enumerate(backends()):
        table = _read(backend)
        if table is not None and (index == 0 or table.in_use):
            found.append((backend, table))
    return found


def _read(backend: Backend) -> FilterTable | None:
    # A backend that cannot be read (no nf_tables in this kernel, not root) filters nothing.
    result = subprocess.run([backend.path, *WAIT, "-t", "filter", "-S"], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        return None
    try:
        return parse_table(result.stdout)
    except ValueError:
        return None


def _apply(backend: Backend, changes: rules.Changes) -> None:
    for action, rule in changes.steps:
        argv = [backend.path, *WAIT, "-t", "filter", *rules.step_args(action, rule)]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SandboxError(f"{backend.name} failed (exit {result.returncode}): "
                               f"{' '.join(argv)}: {result.stderr.strip()}")
