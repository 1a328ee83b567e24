"""The build's refusals that depend on the config alone, shared by `build push` and `config`.

Whether Docker, buildx or a remote builder's architecture is there depends on the machine that
builds, not on the config: those checks stay in `push.py`, where the build runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kdeploy.errors import UsageError

if TYPE_CHECKING:
    from kdeploy.config import Config


def check_builder(config: Config) -> None:
    """Refuse a builder kdeploy cannot drive yet: buildpacks, Docker Build Cloud.

    Raises:
        UsageError: `builder/pack` or a `cloud` driver (exit 2).
    """
    builder = config.builder
    if builder.pack_builder or builder.pack_buildpacks:
        raise UsageError("kdeploy cannot build with buildpacks (builder/pack) yet: "
                         "build with `kamal build push`, then deploy with -P")
    if builder.driver.startswith("cloud"):
        raise UsageError(f"kdeploy cannot build with Docker Build Cloud (builder/driver "
                         f"{builder.driver}) yet: build with `kamal build push`, then deploy "
                         "with -P")


def check_dockerfile(config: Config) -> None:
    """Refuse a build without its Dockerfile.

    Kamal looks for the Dockerfile in the project, not in the clone (it builds from there).

    Raises:
        UsageError: `builder/dockerfile` is not in the project directory (exit 2).
    """
    if not (config.project_dir / config.builder.dockerfile).exists():
        raise UsageError(f"Missing {config.builder.dockerfile} (builder/dockerfile, looked for "
                         f"{config.project_dir / config.builder.dockerfile})")
