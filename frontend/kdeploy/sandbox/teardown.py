"""Remove what a sandbox created, and find leftovers that would block a new one."""

from __future__ import annotations

import contextlib
import shutil

from kdeploy.sandbox import builder, cgroups, firewall, network
from kdeploy.sandbox.errors import SandboxConflict
from kdeploy.sandbox.layout import BRIDGE, HOST_PREFIX, Layout, veth_name
from kdeploy.sandbox.procs import kill_pids, pid_alive, stop_pids
from kdeploy.sandbox.registry import REGISTRY_COMM
from kdeploy.sandbox.state import SandboxState

# What the sandbox writes into its directory; only these are removed, never the dir's
# other contents, in case KDEPLOY_SANDBOX_DIR points somewhere shared by mistake.
OWNED_ENTRIES = ("state.json", "state.tmp", "hosts", "registry", "ssh", "example",
                 "builder.log")


def teardown(layout: Layout, state: SandboxState | None, everything: bool = False) -> None:
    """Stop the sandbox's processes and remove its namespaces, links, iptables rules and files.

    Args:
        layout: the sandbox's paths.
        state: what the state file says was created (None when there is none).
        everything: also kill processes in any host namespace of this instance (`kd-hostN`)
            and its whole cgroup, even when the state does not name them (`sandbox down`).
            Another instance's namespaces, bridge, cgroup and rule have other names and stay.
    """
    names = {host.name for host in state.hosts} if state else set()
    if everything:
        names |= set(network.sandbox_netns())
    _kill_hosts(state, names)
    if state and pid_alive(state.registry_pid, REGISTRY_COMM):
        stop_pids([state.registry_pid or 0], grace=2)
    cgroups.kill_subtree("registry")
    builder.stop_builder()
    if everything:
        cgroups.kill_subtree()
    for name in names | _dead_netns():
        network.delete_netns(name)
        # The kernel frees a deleted netns (and so its veth pair) asynchronously: delete our
        # end now so the bridge is empty when we look at it.
        network.delete_link(veth_name(int(name[len(HOST_PREFIX):])))
    if not network.bridge_ports(BRIDGE):
        network.delete_link(BRIDGE)
    if not network.link_exists(BRIDGE):  # a bridge still in use keeps its accept rule
        firewall.remove_rules(BRIDGE)
    _remove_files(layout)
    cgroups.remove_dirs()


def check_free(subnet: str) -> None:
    """After removing our leftovers, fail if names or the subnet are still taken.

    Raises:
        SandboxConflict: a `kd-hostN` namespace with live processes, a bridge in use, or an
            interface/route on the subnet.
    """
    busy = network.sandbox_netns()
    if busy:
        raise SandboxConflict(f"network namespace {busy[0]} is in use by running processes "
                              f"(another sandbox with a different KDEPLOY_SANDBOX_DIR?); "
                              f"stop it with `kdeploy sandbox down` in that environment")
    if network.link_exists(BRIDGE):
        raise SandboxConflict(f"interface {BRIDGE} already exists and is in use")
    network.check_subnet_free(subnet)


def _kill_hosts(state: SandboxState | None, names: set[str]) -> None:
    # A recorded pid is only ours if it still runs the same program (pids are reused).
    pids = [pid for h in (state.hosts if state else [])
            for pid, comm in ((h.sshd_pid, "sshd"), (h.dockerd_pid, "dockerd"))
            if pid and pid_alive(pid, comm)]
    for name in names:
        # The cgroup holds containers and shims that left the netns or were reparented.
        cgroups.kill_subtree(name)
        pids += network.netns_pids(name)
    kill_pids(pids)
    stop_pids(pids, grace=2)


def _dead_netns() -> set[str]:
    # Namespaces outlive their processes; one without processes is a leftover, safe to drop.
    return {name for name in network.sandbox_netns() if not network.netns_pids(name)}


def _remove_files(layout: Layout) -> None:
    for entry in OWNED_ENTRIES:
        path = layout.root / entry
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: someone else's files stay
        layout.root.rmdir()
