"""`build dev`: build the working tree as it is, tag it `-dirty`, keep it in the local docker.

Kamal 2.11 (`lib/kamal/cli/build.rb#dev`): `docker --version` and `docker buildx version`, then
the files the build context holds (`Kamal::Docker.included_files`: a busybox image that copies
the context and lists it) are compared with git's modified (`git ls-files --modified`) and
untracked (`git ls-files --others`) files, and each overlap is warned about; then one
`docker buildx build --output=type=docker … -t <repo>:<version>-dirty -t <repo>:latest-dirty`
in the project directory. No hook, no login, no clone, no builder created.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kdeploy.errors import UsageError
from kdeploy.image import commands, local
from kdeploy.image.checks import check_builder, check_dockerfile
from kdeploy.image.push import check_run, ensure_docker, indented, redactor, secret_env

if TYPE_CHECKING:
    from kdeploy.config import Config

Say = Callable[[str], None]


def build_dev(config: Config, *, say: Say, export_type: str = "docker", no_cache: bool = False,
              show_build: bool = True) -> None:
    """Build `<repo>:<version>-dirty` (+ `latest[-dest]-dirty`) from the project directory.

    Args:
        config: the loaded config (needs a version).
        say: prints one line of progress and the warnings.
        export_type: Kamal's `--output` (default `docker`: into the local image store).
        no_cache: `--no-cache`.
        show_build: stream the build's output through `say` (False: `-q`).

    Raises:
        ConfigError: no version.
        UsageError: docker missing, a builder kdeploy cannot drive, a type other than docker
            without buildx, or a missing Dockerfile.
        BuildFailed: the check image or the build failed.
    """
    config.absolute_image  # noqa: B018 -- fails now (ConfigError) when there is no version
    check_builder(config)
    buildx = ensure_docker(config, say, then_push=False)
    if not buildx and export_type != "docker":
        raise UsageError(f"--output {export_type} needs the docker buildx plugin, which is not "
                         "installed locally")
    check_dockerfile(config)
    _warn_about_changes(config, say, buildx)
    show = say if show_build else None
    dirty = " and ".join(commands.dirty_tags(config))
    if buildx:
        argv = commands.buildx_push(config, no_cache=no_cache, export_type=export_type,
                                    dirty=True)
        env = secret_env(config)
    else:
        argv = commands.legacy_build(config, no_cache=no_cache, dirty=True)
        env = {"DOCKER_BUILDKIT": "0"}
    say(f"Building {dirty}: {' '.join(commands.redacted(argv))}")
    run = local.run_local(argv, cwd=config.project_dir, env=env,
                          on_line=indented(config, show))
    check_run(run, "Building the image", shown=show is not None, redact=redactor(config))
    say(f"Built {dirty} (output type {export_type})")


def included_files(project_dir: Path, buildx: bool = True) -> set[str]:
    """The files of the build context, as the build sees them (.dockerignore applied).

    Without buildx the check image is built by the classic `docker build`.

    Raises:
        BuildFailed: the check image could not be built or run.
    """
    with tempfile.TemporaryDirectory() as directory:
        dockerfile = Path(directory) / "Dockerfile"
        dockerfile.write_text(commands.BUILD_CHECK_DOCKERFILE)
        check_run(local.run_local(commands.build_check(str(dockerfile), buildx), cwd=project_dir),
                  "Building the check image")
    listed = local.run_local(commands.run_build_check(), cwd=project_dir)
    check_run(listed, "Running the check image")
    return {line.strip() for line in listed.output.splitlines() if line.strip()}


def _warn_about_changes(config: Config, say: Say, buildx: bool) -> None:
    included = included_files(config.project_dir, buildx)
    modified = _git_files(config.project_dir, "--modified")
    untracked = _git_files(config.project_dir, "--others")
    for files, heading in ((included & modified, "Files with uncommitted changes"),
                           (included & untracked, "Untracked files")):
        if files:
            say(f"WARNING: {heading} will be present in the dev container:")
            for name in sorted(files):
                say(f"  {name}")


def _git_files(project_dir: Path, which: str) -> set[str]:
    # Outside a git repository git fails and lists nothing, as Kamal's backticks do.
    run = local.run_local(["git", "ls-files", which], cwd=project_dir)
    return {line.strip() for line in run.output.splitlines() if line.strip()} if run.ok else set()
