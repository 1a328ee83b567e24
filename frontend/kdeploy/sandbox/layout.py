"""Where the sandbox keeps its files, and the names it gives hosts, links and cgroups."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = "/var/lib/kdeploy-sandbox"
DEFAULT_CACHE = "/var/cache/kdeploy-sandbox"
DEFAULT_SUBNET = "10.213.7.0/24"
DEFAULT_HOSTS = 3
BRIDGE = "kdsandbox0"
HOST_PREFIX = "kd-host"
CGROUP_NAME = "kdeploy-sandbox"
REGISTRY_PORT = 5000
# Host i gets address .(10+i): .1 is the bridge (and registry), .2-.10 stay free.
FIRST_HOST_OFFSET = 10


@dataclass(frozen=True)
class Layout:
    """The paths of one sandbox: its state directory and the image cache that outlives it."""

    root: Path
    cache: Path

    @property
    def state_file(self) -> Path:
        """The JSON file describing the running sandbox."""
        return self.root / "state.json"

    @property
    def key_path(self) -> Path:
        """The private SSH key that logs in as root on every host."""
        return self.root / "ssh" / "id_ed25519"

    @property
    def example_dir(self) -> Path:
        """The ready-to-use example project."""
        return self.root / "example"

    @property
    def registry_dir(self) -> Path:
        """Registry config, log and pid file (its storage lives in the cache)."""
        return self.root / "registry"

    def host_dir(self, name: str) -> Path:
        """The directory holding one host's /run, /root, docker data and config."""
        return self.root / "hosts" / name


def default_layout() -> Layout:
    """The layout from `KDEPLOY_SANDBOX_DIR` / `KDEPLOY_SANDBOX_CACHE` or the defaults."""
    root = Path(os.environ.get("KDEPLOY_SANDBOX_DIR") or DEFAULT_DIR)
    cache = Path(os.environ.get("KDEPLOY_SANDBOX_CACHE") or DEFAULT_CACHE)
    return Layout(root=root.absolute(), cache=cache.absolute())


def host_name(index: int) -> str:
    """The name of host `index` (1-based): netns name and hostname, e.g. `kd-host1`."""
    return f"{HOST_PREFIX}{index}"


def veth_name(index: int) -> str:
    """The bridge-side end of host `index`'s veth pair (at most 15 characters)."""
    return f"kdveth{index}"


def gateway_address(subnet: str) -> str:
    """The bridge's address in `subnet`, where the registry listens too."""
    return str(ipaddress.ip_network(subnet)[1])


def host_address(subnet: str, index: int) -> str:
    """The address of host `index` (1-based) in `subnet`."""
    return str(ipaddress.ip_network(subnet)[FIRST_HOST_OFFSET + index])


def registry_address(subnet: str) -> str:
    """`ADDR:PORT` of the sandbox registry, as image names and `--insecure-registry` use it."""
    return f"{gateway_address(subnet)}:{REGISTRY_PORT}"
