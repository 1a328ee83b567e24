"""The sandbox registry: Debian's `docker-registry`, plain HTTP on the bridge address."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from kdeploy.sandbox import cgroups
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.layout import Layout
from kdeploy.sandbox.procs import spawn, tcp_open, wait_until

READY_TIMEOUT = 20.0
# The registry's command name as /proc shows it (15 characters at most).
REGISTRY_COMM = "docker-registry"


def registry_config(storage: Path, listen: str) -> str:
    """The registry's config.yml: filesystem storage, no auth (any `docker login` succeeds)."""
    return "\n".join([
        "version: 0.1",
        "log:",
        "  level: error",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {listen}",
        "",
    ])


def start_registry(layout: Layout, listen: str) -> subprocess.Popen[bytes]:
    """Write the config and start the registry; its storage lives in the image cache."""
    storage = layout.cache / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    layout.registry_dir.mkdir(parents=True, exist_ok=True)
    config = layout.registry_dir / "config.yml"
    config.write_text(registry_config(storage, listen))
    proc = spawn(["docker-registry", "serve", str(config)], layout.registry_dir / "registry.log")
    group = cgroups.daemons_cgroup("registry")
    if group is not None:
        # In the sandbox cgroup, `up` finds and kills it even when the state file is lost.
        (group / "cgroup.procs").write_text(str(proc.pid))
    return proc


def wait_registry(listen: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait until our registry process accepts connections on `ADDR:PORT`.

    Raises:
        SandboxError: when the process exits (e.g. the port is taken) or never listens.
    """
    address, port = listen.rsplit(":", 1)

    def ready() -> bool:
        if proc.poll() is not None:
            raise SandboxError(f"the registry exited ({proc.returncode}); see "
                               f"{proc.args[-1].rsplit('/', 1)[0]}/registry.log")
        return tcp_open(address, int(port))

    wait_until(ready, READY_TIMEOUT, f"the registry at {listen}")


def registry_tags(listen: str, repository: str) -> list[str]:
    """The tags the registry holds for `repository` (empty when it has none)."""
    url = f"http://{listen}/v2/{repository}/tags/list"
    # No proxy: the registry is on this machine, and env proxies must never see the traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return json.load(response).get("tags") or []
    except (urllib.error.URLError, OSError, ValueError):
        return []
