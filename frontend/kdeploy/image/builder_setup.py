"""`build create|remove|details`: Kamal's buildx builder on this machine (`kamal-local-<driver>`).

Kamal 2.11 (`lib/kamal/cli/build.rb`, `commands/builder/local.rb`): `create` runs
`docker buildx create --name <builder> --driver=<driver> [--driver-opt network=host]`, `remove`
`docker buildx rm <builder>` (both nothing for `driver: docker`), `details` prints the builder's
kind, then `docker context ls` and `docker buildx ls`. Remote, hybrid, buildpack and cloud
builders are refused, as `build push` refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kdeploy.errors import DeployFailed, UsageError
from kdeploy.image import commands, local

if TYPE_CHECKING:
    from kdeploy.config import Config

Say = Callable[[str], None]


class BuilderFailed(DeployFailed):
    """docker refused to create, remove or list the builder (exit 1)."""

    kind = "build"


def create_builder(config: Config, say: Say) -> None:
    """Create Kamal's local buildx builder (nothing for the docker driver).

    Raises:
        UsageError: a builder kdeploy cannot set up, or docker missing.
        BuilderFailed: `docker buildx create` failed (an existing builder of that name too).
    """
    _refuse_other_builders(config, "create")
    if commands.docker_driver(config):
        say("driver: docker builds with Docker's own builder: no builder to create")
        return
    say(f"Using builder: {commands.builder_kind(config)}")
    _run(commands.create_builder(config), "Couldn't create builder")
    say(f"Created builder {commands.builder_name(config)}")


def remove_builder(config: Config, say: Say) -> None:
    """Remove Kamal's local buildx builder (nothing for the docker driver).

    Raises:
        UsageError: a builder kdeploy cannot set up, or docker missing.
        BuilderFailed: `docker buildx rm` failed (no such builder too, as in Kamal).
    """
    _refuse_other_builders(config, "remove")
    if commands.docker_driver(config):
        say("driver: docker builds with Docker's own builder: no builder to remove")
        return
    say(f"Using builder: {commands.builder_kind(config)}")
    _run(commands.remove_builder(config), "Couldn't remove builder")
    say(f"Removed builder {commands.builder_name(config)}")


def builder_details(config: Config) -> str:
    """`Builder: <kind>`, then what `docker context ls` and `docker buildx ls` print.

    Raises:
        UsageError: buildpacks (Kamal runs `pack builder inspect` there), or docker missing.
        BuilderFailed: one of the docker commands failed.
    """
    if commands.builder_kind(config) == "pack":
        raise UsageError("kdeploy cannot show a buildpacks builder (builder/pack): use "
                         "`pack builder inspect`")
    kind = commands.builder_kind(config)
    if kind in ("remote", "hybrid"):
        # Kamal's remote `info` is a `chain` (;): both run, the last one's exit code counts.
        first = local.run_local(commands.BUILDER_INFO[0])
        outputs = [first.output, _run(commands.BUILDER_INFO[1], "Couldn't show the build setup")]
    else:
        # Kamal's `combine` (&&): the second runs only when the first succeeded.
        outputs = [_run(argv, "Couldn't show the build setup") for argv in commands.BUILDER_INFO]
    return "\n".join([f"Builder: {kind}", *(output.rstrip("\n") for output in outputs)])


def _refuse_other_builders(config: Config, action: str) -> None:
    kind = commands.builder_kind(config)
    if kind != "local":
        key = {"remote": "builder/remote", "hybrid": "builder/remote", "pack": "builder/pack",
               "cloud": "builder/driver"}[kind]
        raise UsageError(f"kdeploy cannot {action} a {kind} builder ({key}) yet: use "
                         f"`kamal build {action}`")


def _run(argv: list[str], failure: str) -> str:
    run = local.run_local(argv)
    if run.returncode == local.NOT_FOUND and run.output.endswith("command not found"):
        raise UsageError("Docker is not installed locally")
    if not run.ok:
        raise BuilderFailed(f"{failure} (`{' '.join(argv[:3])}` exited {run.returncode}): "
                            f"{run.tail(3)}")
    return run.output
