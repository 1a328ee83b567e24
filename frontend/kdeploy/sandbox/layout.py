"""Where the sandbox keeps its files, and the names it gives hosts, links and cgroups."""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Several sandboxes can run side by side (CI runs e2e files in parallel): instance N names every
# machine-wide thing its own way. Instance 0 keeps the historical names.
INSTANCE_ENV = "KDEPLOY_SANDBOX_INSTANCE"
MAX_INSTANCE = 9
DEFAULT_HOSTS = 3
REGISTRY_PORT = 5000


@dataclass(frozen=True)
class InstanceNames:
    """Every machine-wide name of one sandbox instance: no two instances share one."""

    instance: int
    dir: str
    cache: str
    subnet: str
    bridge: str
    host_prefix: str
    veth_prefix: str
    cgroup: str
    builder_run: str


def instance_names(instance: int) -> InstanceNames:
    """The names of sandbox `instance` (0 = the default sandbox, exactly its historical names).

    Raises:
        ValueError: `instance` is outside 0..MAX_INSTANCE.
    """
    if not 0 <= instance <= MAX_INSTANCE:
        raise ValueError(f"sandbox instance must be 0-{MAX_INSTANCE}, got {instance}")
    if instance == 0:
        return InstanceNames(0, "/var/lib/kdeploy-sandbox", "/var/cache/kdeploy-sandbox",
                             "10.213.7.0/24", "kdsandbox0", "kd-host", "kdveth",
                             "kdeploy-sandbox", "/run/kdeploy-sandbox-builder")
    n = instance
    # The cache is per instance too: two registries must not write one storage directory.
    return InstanceNames(n, f"/var/lib/kdeploy-sandbox-{n}", f"/var/cache/kdeploy-sandbox-{n}",
                         f"10.213.{7 + n}.0/24", f"kdsandbox{n}", f"kd{n}-host", f"kd{n}veth",
                         f"kdeploy-sandbox-{n}", f"/run/kdeploy-sandbox-builder-{n}")


def instance_from_env(value: str | None) -> int:
    """The instance named by `KDEPLOY_SANDBOX_INSTANCE` (unset or empty: 0).

    Raises:
        ValueError: not a number in 0..MAX_INSTANCE.
    """
    text = (value or "0").strip()
    if not text.isdigit() or int(text) > MAX_INSTANCE:
        raise ValueError(f"{INSTANCE_ENV}={value!r}: expected a number from 0 to {MAX_INSTANCE}")
    return int(text)


def _current_names() -> InstanceNames:
    try:
        return instance_names(instance_from_env(os.environ.get(INSTANCE_ENV)))
    except ValueError as error:
        # Guessing an instance could tear down another one: stop before anything runs.
        sys.stderr.write(f"kdeploy: {error}\n")
        raise SystemExit(2) from None


NAMES = _current_names()
DEFAULT_DIR = NAMES.dir
DEFAULT_CACHE = NAMES.cache
DEFAULT_SUBNET = NAMES.subnet
BRIDGE = NAMES.bridge
HOST_PREFIX = NAMES.host_prefix
CGROUP_NAME = NAMES.cgroup
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
    return f"{NAMES.veth_prefix}{index}"


def gateway_address(subnet: str) -> str:
    """The bridge's address in `subnet`, where the registry listens too."""
    return str(ipaddress.ip_network(subnet)[1])


def host_address(subnet: str, index: int) -> str:
    """The address of host `index` (1-based) in `subnet`."""
    return str(ipaddress.ip_network(subnet)[FIRST_HOST_OFFSET + index])


def registry_address(subnet: str) -> str:
    """`ADDR:PORT` of the sandbox registry, as image names and `--insecure-registry` use it."""
    return f"{gateway_address(subnet)}:{REGISTRY_PORT}"
