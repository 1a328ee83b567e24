"""`up`, `down` and `status`: build the whole sandbox, remove it, or describe it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from kdeploy.sandbox import (
    builder,
    example,
    firewall,
    hosts,
    known_hosts,
    network,
    preflight,
    registry,
    teardown,
)
from kdeploy.sandbox.info import SandboxInfo, info_from_state
from kdeploy.sandbox.layout import (
    BRIDGE,
    DEFAULT_HOSTS,
    DEFAULT_SUBNET,
    Layout,
    default_layout,
    host_address,
    host_name,
    registry_address,
    veth_name,
)
from kdeploy.sandbox.lock import machine_lock
from kdeploy.sandbox.state import BUILDING, READY, HostState, SandboxState, load_state, save_state
from kdeploy.words import plural

Say = Callable[[str], None]


def status(layout: Layout | None = None) -> SandboxInfo | None:
    """Describe the sandbox from its state file; None when there is none.

    Its `warnings` name what on this machine drops the traffic between its hosts.
    """
    layout = layout or default_layout()
    state = load_state(layout.state_file)
    if state is None:
        return None
    return replace(info_from_state(layout.root, state),
                   warnings=tuple(firewall.problems(state.bridge)))


def down(layout: Layout | None = None, say: Say = lambda _: None) -> None:
    """Remove everything the sandbox created; safe to run twice (the image cache stays)."""
    preflight.check_machine()
    layout = layout or default_layout()
    say(f"--> Removing the sandbox in {layout.root}")
    with machine_lock():
        teardown.teardown(layout, load_state(layout.state_file), everything=True)


def up(hosts: int = DEFAULT_HOSTS, subnet: str = DEFAULT_SUBNET, layout: Layout | None = None,
       say: Say = lambda _: None) -> SandboxInfo:
    """Build the sandbox, or return the running one if it is healthy and the same shape.

    Args:
        hosts: how many hosts (`kd-host1`…).
        subnet: the private IPv4 network of the bridge (.1) and the hosts (.11, .12, …).
        layout: where state and cache live (default: from the environment).
        say: receives one line per stage.

    Returns:
        The running sandbox.

    Raises:
        SandboxUnavailable: the machine cannot run it (exit 2).
        SandboxConflict: a name or the subnet is taken (exit 2); nothing is left behind.
        SandboxError: a daemon failed to start; everything created is removed again.
    """
    preflight.check_machine()
    layout = layout or default_layout()
    network.parse_subnet(subnet, hosts)
    with machine_lock():
        return _up(layout, hosts, subnet, say)


def _up(layout: Layout, hosts: int, subnet: str, say: Say) -> SandboxInfo:
    old = load_state(layout.state_file)
    if old and old.subnet == subnet and len(old.hosts) == hosts:
        info = info_from_state(layout.root, old)
        if info.healthy:
            # A dockerd or a firewall may have changed iptables since: `up` again repairs that.
            _accept_bridge_traffic(say)
            say(f"--> Sandbox already running in {layout.root} ({plural(hosts, 'host')})")
            _record_host_keys(layout, old, say)
            return info
    # Checked before removing anything, so a taken subnet leaves a running sandbox alone.
    network.check_subnet_free(subnet)
    if old or network.sandbox_netns() or network.link_exists(BRIDGE) or firewall.has_rules(BRIDGE):
        say("--> Removing leftovers of an earlier sandbox")
    teardown.teardown(layout, old)
    teardown.check_free(subnet)
    state = _new_state(layout, hosts, subnet)
    save_state(layout.state_file, state)
    try:
        _build(layout, state, say)
    except BaseException:
        teardown.teardown(layout, state)
        raise
    state.phase = READY
    save_state(layout.state_file, state)
    return info_from_state(layout.root, state)


def _new_state(layout: Layout, count: int, subnet: str) -> SandboxState:
    members = [HostState(name=host_name(i), address=host_address(subnet, i), veth=veth_name(i))
               for i in range(1, count + 1)]
    return SandboxState(phase=BUILDING, subnet=subnet, bridge=BRIDGE,
                        registry=registry_address(subnet), key_path=str(layout.key_path),
                        example_dir=str(layout.example_dir), hosts=members)


def _build(layout: Layout, state: SandboxState, say: Say) -> None:
    say(f"--> Creating bridge {BRIDGE} ({state.subnet}) and {len(state.hosts)} hosts")
    network.create_bridge(state.subnet)
    _accept_bridge_traffic(say)
    for index, host in enumerate(state.hosts, start=1):
        network.create_host_network(state.subnet, index, host.name)
    pubkey = _make_key(layout)
    registry_proc = registry.start_registry(layout, state.registry)
    state.registry_pid = registry_proc.pid
    key_cache = layout.cache / "host-keys"
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda h: hosts.prepare_host(layout.host_dir(h.name), h.name, h.address,
                                                   state.registry, pubkey, key_cache),
                      state.hosts))
    boots = {h.name: hosts.start_host(layout.host_dir(h.name), h.name) for h in state.hosts}
    for host in state.hosts:
        host.sshd_pid = boots[host.name].pid
    save_state(layout.state_file, state)
    images = _ImagesThread(layout, state.registry, registry_proc)
    for host in state.hosts:
        hosts.wait_host_ready(layout.host_dir(host.name), host.name, host.address,
                              boots[host.name])
        host.dockerd_pid = hosts.dockerd_pid(layout.host_dir(host.name))
    say(f"--> Hosts ready; registry {state.registry}")
    _record_host_keys(layout, state, say)
    example.write_example(layout.example_dir, state.registry, str(layout.key_path),
                          [h.address for h in state.hosts])
    if images.finish():
        say("--> Built and pushed the demo images")


def _accept_bridge_traffic(say: Say) -> None:
    # A root-namespace dockerd sets the FORWARD policy to DROP, and br_netfilter sends bridged
    # packets through FORWARD: without this rule the hosts cannot reach each other.
    for where in firewall.ensure_accept(BRIDGE):
        say(f"--> Accepting traffic between the hosts on {BRIDGE} ({where})")
    for problem in firewall.problems(BRIDGE):
        say(f"WARNING: {problem}")


def _record_host_keys(layout: Layout, state: SandboxState, say: Say) -> None:
    # kdeploy and Kamal refuse a host whose key differs from the recorded one: record the keys
    # these hosts really have, replacing what an older sandbox at these addresses left.
    recorded = known_hosts.record_host_keys({
        host.address: known_hosts.public_key(hosts.host_key_file(layout.host_dir(host.name)))
        for host in state.hosts})
    say(f"--> Recorded the hosts' keys in {recorded}")


def _make_key(layout: Layout) -> str:
    layout.key_path.parent.mkdir(parents=True, exist_ok=True)
    layout.key_path.unlink(missing_ok=True)
    layout.key_path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kdeploy-sandbox",
                    "-f", str(layout.key_path)], check=True, capture_output=True)
    return layout.key_path.with_suffix(".pub").read_text()


class _ImagesThread:
    """Waits for the registry and makes sure the images are there, while hosts boot."""

    def __init__(self, layout: Layout, listen: str, proc: subprocess.Popen[bytes]) -> None:
        self._error: BaseException | None = None
        self._built = False
        self._thread = threading.Thread(target=self._run, args=(layout, listen, proc),
                                        daemon=True)
        self._thread.start()

    def _run(self, layout: Layout, listen: str, proc: subprocess.Popen[bytes]) -> None:
        try:
            registry.wait_registry(listen, proc)
            self._built = builder.ensure_images(layout, listen)
        except BaseException as error:  # re-raised in the main thread by finish()
            self._error = error

    def finish(self) -> bool:
        """Wait for the thread; re-raise its error. True when images were built."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._built
