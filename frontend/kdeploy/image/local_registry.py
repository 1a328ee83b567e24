"""Kamal's local registry on this machine: the `kamal-docker-registry` container (`registry:3`).

Used when `registry/server` is `localhost[:PORT]`: `build push` and `registry setup` start it
(`docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:PORT:5000 --name
kamal-docker-registry registry:3`), `registry remove` stops and removes it (`docker stop … &&
docker rm …`, a failure ignored), as Kamal 2.11's `commands/registry.rb`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kdeploy.errors import DeployFailed, UsageError
from kdeploy.image import commands, local

if TYPE_CHECKING:
    from kdeploy.config import Config

Say = Callable[[str], None]


class LocalRegistryFailed(DeployFailed):
    """The local registry container could not be started (exit 1)."""

    kind = "registry"


def setup_local_registry(config: Config, say: Say) -> None:
    """Start the local registry container, or run it the first time.

    Raises:
        UsageError: docker is not installed locally.
        LocalRegistryFailed: neither `docker start` nor `docker run` worked.
    """
    if local.run_local(commands.start_local_registry()).ok:
        say(f"Started the local registry {commands.LOCAL_REGISTRY_CONTAINER}")
        return
    port = config.registry.local_port or 80
    run = local.run_local(commands.run_local_registry(port))
    if run.returncode == local.NOT_FOUND and run.output.endswith("command not found"):
        raise UsageError("Docker is not installed locally")
    if not run.ok:
        raise LocalRegistryFailed(f"Starting the local registry failed (`docker run` exited "
                                  f"{run.returncode}):\n{run.tail()}")
    say(f"Started the local registry {commands.LOCAL_REGISTRY_CONTAINER} on 127.0.0.1:{port}")


def remove_local_registry(say: Say) -> None:
    """Stop and remove the local registry container; a missing one is fine (as in Kamal).

    Raises:
        UsageError: docker is not installed locally.
    """
    name = commands.LOCAL_REGISTRY_CONTAINER
    stopped = local.run_local(commands.stop_local_registry())
    if stopped.returncode == local.NOT_FOUND and stopped.output.endswith("command not found"):
        raise UsageError("Docker is not installed locally")
    if not stopped.ok:
        say(f"No local registry removed: docker stop {name} exited {stopped.returncode} "
            f"({stopped.tail(1)})")
        return
    removed = local.run_local(commands.remove_local_registry())
    if not removed.ok:
        say(f"The local registry is stopped but not removed: docker rm {name} exited "
            f"{removed.returncode} ({removed.tail(1)})")
        return
    say(f"Removed the local registry {name}")
