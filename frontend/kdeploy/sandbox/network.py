"""The sandbox network: a bridge with a private subnet, one netns and veth pair per host."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from kdeploy.sandbox.errors import SandboxConflict, SandboxError
from kdeploy.sandbox.layout import BRIDGE, HOST_PREFIX, gateway_address, host_address, veth_name

NETNS_DIR = Path("/run/netns")


def _ip_json(*args: str) -> list[dict]:
    result = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=False)
    return json.loads(result.stdout or "[]") if result.returncode == 0 else []


def link_exists(name: str) -> bool:
    """True when a network interface called `name` exists in the root namespace."""
    return Path(f"/sys/class/net/{name}").exists()


def netns_exists(name: str) -> bool:
    """True when the named network namespace exists."""
    return (NETNS_DIR / name).exists()


def netns_pids(name: str) -> list[int]:
    """The pids running inside network namespace `name`."""
    result = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                            check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def sandbox_netns() -> list[str]:
    """Every existing network namespace named like a sandbox host (`kd-hostN`)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir()
                  if p.name.startswith(HOST_PREFIX) and p.name[len(HOST_PREFIX):].isdigit())


def bridge_ports(bridge: str = BRIDGE) -> list[str]:
    """The interfaces enslaved to `bridge`."""
    brif = Path(f"/sys/class/net/{bridge}/brif")
    return sorted(p.name for p in brif.iterdir()) if brif.is_dir() else []


def parse_subnet(subnet: str, hosts: int) -> ipaddress.IPv4Network:
    """Validate `subnet` (IPv4, private, room for the bridge and `hosts` hosts).

    Raises:
        SandboxConflict: when the subnet is malformed, public or too small.
    """
    try:
        network = ipaddress.ip_network(subnet, strict=True)
    except ValueError as error:
        raise SandboxConflict(f"--subnet {subnet}: {error}") from None
    if network.version != 4 or not network.is_private:
        raise SandboxConflict(f"--subnet {subnet}: must be a private IPv4 network")
    if network.num_addresses < hosts + 12:
        raise SandboxConflict(f"--subnet {subnet}: too small for {hosts} hosts")
    return network  # type: ignore[return-value]


def check_subnet_free(subnet: str) -> None:
    """Fail if any interface or route other than the sandbox bridge already uses `subnet`.

    Raises:
        SandboxConflict: naming the interface or route that overlaps.
    """
    network = ipaddress.ip_network(subnet)
    for link in _ip_json("-4", "addr", "show"):
        for info in link.get("addr_info", []):
            iface = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")
            if link["ifname"] != BRIDGE and iface.network.overlaps(network):
                raise SandboxConflict(f"subnet {subnet} is already used by interface "
                                      f"{link['ifname']} ({iface}); pick another with --subnet")
    for route in _ip_json("-4", "route", "show"):
        dst = route.get("dst", "default")
        if dst != "default" and route.get("dev") != BRIDGE and \
                ipaddress.ip_network(dst, strict=False).overlaps(network):
            raise SandboxConflict(f"subnet {subnet} overlaps the route {dst} via "
                                  f"{route.get('dev')}; pick another with --subnet")


def _batch(commands: list[str], what: str, netns: str | None = None) -> None:
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    result = subprocess.run(argv, input="\n".join(commands) + "\n", capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SandboxError(f"{what} failed: {result.stderr.strip()}")


def create_bridge(subnet: str) -> None:
    """Create the bridge with the gateway address; the root namespace reaches every host."""
    prefix = ipaddress.ip_network(subnet).prefixlen
    _batch([f"link add {BRIDGE} type bridge",
            f"addr add {gateway_address(subnet)}/{prefix} dev {BRIDGE}",
            f"link set {BRIDGE} up"], f"creating bridge {BRIDGE}")


def create_host_network(subnet: str, index: int, name: str) -> None:
    """Create host `index`'s netns and veth pair; its side is `eth0` with the host address.

    No default route is set on purpose: hosts reach each other and the registry, nothing else.
    """
    prefix = ipaddress.ip_network(subnet).prefixlen
    veth = veth_name(index)
    _batch([f"netns add {name}",
            f"link add {veth} type veth peer name eth0 netns {name}",
            f"link set {veth} master {BRIDGE} up"], f"creating network of {name}")
    _batch([f"addr add {host_address(subnet, index)}/{prefix} dev eth0",
            "link set eth0 up", "link set lo up"], f"configuring network of {name}", netns=name)


def delete_netns(name: str) -> None:
    """Delete a network namespace (its veth pair goes with it); missing is fine."""
    if netns_exists(name):
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def delete_link(name: str) -> None:
    """Delete a root-namespace interface (bridge or veth); missing is fine."""
    if link_exists(name):
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)
