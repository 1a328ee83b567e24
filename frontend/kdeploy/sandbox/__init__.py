"""A local multi-host sandbox: real sshd + dockerd per host, a registry and demo images.

The Python API the tests and `kdeploy sandbox` use:

    info = up(hosts=3)            # SandboxInfo: hosts, registry, key_path, example_dir
    info.ssh_command(1, "docker ps")
    run_on_host(info.host(1), ["hostname"])
    disable_docker(info.host(2)); restore_docker(info.host(2))   # Docker missing, then back
    stop_docker(info.host(2)); restore_docker(info.host(2))      # Docker stopped, then back
    status(); down()
"""

from __future__ import annotations

from kdeploy.sandbox.control import (
    current,
    disable_docker,
    restore_docker,
    run_on_host,
    stop_docker,
)
from kdeploy.sandbox.errors import SandboxConflict, SandboxError, SandboxUnavailable
from kdeploy.sandbox.info import SandboxHost, SandboxInfo
from kdeploy.sandbox.layout import Layout, default_layout
from kdeploy.sandbox.lifecycle import down, status, up

__all__ = [
    "Layout",
    "SandboxConflict",
    "SandboxError",
    "SandboxHost",
    "SandboxInfo",
    "SandboxUnavailable",
    "current",
    "default_layout",
    "disable_docker",
    "down",
    "restore_docker",
    "run_on_host",
    "status",
    "stop_docker",
    "up",
]
