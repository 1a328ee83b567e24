"""`build push`: build the app image on this machine and push it, in Kamal's order.

Kamal 2.11 (`lib/kamal/cli/build.rb#push`): pre-connect hook, `docker --version` and
`docker buildx version`, `docker login` (or start the local registry), pre-build hook, the git
clone (unless `builder.context`), the buildx builder (created when missing), then one
`docker buildx build --output=type=registry …`. Without the buildx plugin kdeploy builds with the
classic `docker build` and pushes each tag with `docker push` (same tags, label and arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kdeploy.errors import DeployFailed, UsageError
from kdeploy.image import commands, local, local_docker
from kdeploy.image.checks import check_builder, check_dockerfile
from kdeploy.image.clone import git_repo, prepare_clone, uncommitted_changes
from kdeploy.image.local_registry import setup_local_registry
from kdeploy.run.kamal_hooks import HookContext, run_kamal_hook

if TYPE_CHECKING:
    from kdeploy.config import Config

Say = Callable[[str], None]


class BuildFailed(DeployFailed):
    """The clone, the build or the push failed (exit 1)."""

    kind = "build"


def push_image(config: Config, *, no_cache: bool, say: Say, skip_hooks: bool,
               hook_context: HookContext | None = None, export_type: str = "registry") -> None:
    """Build the image `<repo>:<version>` (+ `latest[-dest]`) locally and push it to the registry.

    Runs the pre-connect and pre-build hooks (Kamal's hook files) unless `skip_hooks`; the
    caller must not run pre-connect again before its first connection (Kamal runs it once).

    Args:
        config: the loaded config (needs a version).
        no_cache: build without Docker's build cache (`--no-cache`).
        say: prints one line of progress (build output is streamed through it too).
        skip_hooks: `-H`: run no hook.
        hook_context: what the hooks are told (command, hosts, roles, verbosity); default: the
            `deploy` command on every host at the default verbosity. Its verbosity `error`
            (`-q`) keeps the build's output out of `say` (a failure still shows its tail).
        export_type: Kamal's `build push --output`: the `buildx --output` type (`registry`
            pushes; `docker` loads the image into the local docker only).

    Raises:
        ConfigError: the config has no version.
        UsageError: docker is not installed locally, a builder kdeploy cannot drive (remote,
            buildpacks, cloud), settings the classic builder cannot honour when buildx is
            missing, or a missing Dockerfile (exit 2).
        HookError: a hook failed.
        DeployFailed: the login failed (`local_docker`'s message).
        BuildFailed: the clone, the build or the push failed.
    """
    config.absolute_image  # noqa: B018 -- fails now (ConfigError) when there is no version
    context = hook_context or HookContext(config=config, command="deploy",
                                          hosts=config.all_hosts)
    if skip_hooks:
        context = replace(context, skip=True)
    check_builder(config)
    run_kamal_hook(context, "pre-connect", say, lock=False)
    buildx = ensure_docker(config, say)
    if not buildx and export_type not in ("registry", "docker"):
        raise UsageError(f"--output {export_type} needs the docker buildx plugin, which is not "
                         "installed locally")
    _login(config, say)
    run_kamal_hook(context, "pre-build", say, lock=False)
    build_dir = _build_directory(config, say)
    check_dockerfile(config)
    show = say if context.verbosity != "error" else None
    if buildx:
        _ensure_builder(config, say)
        _buildx_push(config, no_cache, build_dir, say, show, export_type)
    else:
        _legacy_build_push(config, no_cache, build_dir, say, show, export_type)


def ensure_docker(config: Config, say: Say, *, then_push: bool = True) -> bool:
    """Kamal's `docker --version && docker buildx version`; True when buildx is there.

    Without buildx it says the classic `docker build` is used instead (`then_push`: followed by
    `docker push`).

    Raises:
        UsageError: docker is missing, a remote builder is needed, or settings need buildx.
    """
    if not local.run_local(commands.DOCKER_VERSION).ok:
        raise UsageError("Docker is not installed locally")
    buildx = local.run_local(commands.BUILDX_VERSION).ok
    if config.builder.remote:
        arch = commands.docker_arch(local.run_local(commands.DOCKER_ARCH).output)
        remote = commands.remote_arches(config, arch)
        if remote:
            raise UsageError(f"kdeploy cannot build on a remote builder (builder/remote, for "
                             f"{', '.join(remote)}) yet: build with `kamal build push`, then "
                             "deploy with -P")
    if not buildx:
        unsupported = commands.needs_buildx(config)
        if unsupported:
            raise UsageError(f"{', '.join(unsupported)} need the docker buildx plugin, which is "
                             "not installed locally")
        say("Docker buildx plugin is not installed locally: building with `docker build`"
            + (", then `docker push`" if then_push else ""))
    return buildx


def _login(config: Config, say: Say) -> None:
    registry = config.registry
    if registry.local:
        # Kamal's registry setup: start the local registry, or run it the first time.
        setup_local_registry(config, say)
        return
    say(f"Logging in to {registry.server or 'Docker Hub'}...")
    local_docker.docker_login(registry, *local_docker.registry_credentials(config))


def _build_directory(config: Config, say: Say) -> Path:
    # The clone of HEAD, or (builder.context set, or no git) the project directory.
    repo = git_repo(config.project_dir)
    changes = uncommitted_changes(config.project_dir) if repo else ""
    if repo and config.builder.git_clone:
        if changes:
            say(f"Building from a local git clone, so ignoring these uncommitted changes:\n "
                f"{changes}")
        return prepare_clone(config.service, config.project_dir, repo, say)
    if changes:
        say(f"Building with uncommitted changes:\n {changes}")
    return config.project_dir


def _ensure_builder(config: Config, say: Say) -> None:
    inspect = commands.inspect_builder(config)
    if inspect is None:
        return
    found = local.run_local(inspect)
    if found.ok:
        return
    if not commands.MISSING_BUILDER.search(found.output):
        check_run(found, "docker buildx inspect")
    say("Missing compatible builder, so creating a new one first")
    removed = local.run_local(commands.remove_builder(config))
    if not removed.ok and not commands.REMOVABLE_BUILDER.search(removed.output):
        check_run(removed, "docker buildx rm")
    check_run(local.run_local(commands.create_builder(config)), "docker buildx create")


def _buildx_push(config: Config, no_cache: bool, build_dir: Path, say: Say,
                 show: Say | None, export_type: str) -> None:
    argv = commands.buildx_push(config, no_cache=no_cache, export_type=export_type)
    pushing = export_type == "registry"
    say(f"Building {'and pushing ' if pushing else ''}{config.absolute_image}: "
        f"{' '.join(commands.redacted(argv))}")
    run = local.run_local(argv, cwd=build_dir, env=secret_env(config),
                          on_line=indented(config, show))
    check_run(run, "Building and pushing the image" if pushing else "Building the image",
              shown=show is not None, redact=redactor(config))
    tags = " and ".join(commands.image_tags(config))
    say(f"Pushed {tags}" if pushing else f"Built {tags} (output type {export_type})")


def _legacy_build_push(config: Config, no_cache: bool, build_dir: Path, say: Say,
                       show: Say | None, export_type: str) -> None:
    argv = commands.legacy_build(config, no_cache=no_cache)
    say(f"Building {config.absolute_image}: {' '.join(commands.redacted(argv))}")
    # DOCKER_BUILDKIT=0: the classic builder, even where the environment asks for BuildKit.
    run = local.run_local(argv, cwd=build_dir, env={"DOCKER_BUILDKIT": "0"},
                          on_line=indented(config, show))
    check_run(run, "Building the image", shown=show is not None)
    if export_type == "docker":
        # The classic builder leaves the image in the local docker: Kamal's type=docker.
        say(f"Built {' and '.join(commands.image_tags(config))} (output type docker)")
        return
    for tag in commands.image_tags(config):
        say(f"Pushing {tag}")
        check_run(local.run_local(commands.legacy_push(tag), on_line=indented(config, show)),
                  f"Pushing {tag}", shown=show is not None)
    say(f"Pushed {' and '.join(commands.image_tags(config))}")


def check_run(run: local.LocalRun, what: str, shown: bool = False,
              redact: Callable[[str], str] = str) -> None:
    """Raise when `run` failed: one line saying what failed, then the output's tail.

    Just the last line when the output was already streamed (`shown`).

    Raises:
        UsageError: docker is not installed.
        BuildFailed: the command failed.
    """
    if run.ok:
        return
    if run.returncode == local.NOT_FOUND and run.argv[:1] == ("docker",):
        raise UsageError("Docker is not installed locally")
    words = 3 if run.argv[1:2] == ("buildx",) else 2
    detail = redact(run.tail(1) if shown else run.tail())
    raise BuildFailed(f"{what} failed (`{' '.join(run.argv[:words])}` exited "
                      f"{run.returncode}):\n{detail}")


def secret_env(config: Config) -> dict[str, str]:
    """builder.secrets as variables of the same name, for buildx's `--secret id=X,env=X`."""
    return {name: config.secrets[name] for name in config.builder.secrets
            if config.secrets is not None}


def redactor(config: Config) -> Callable[[str], str]:
    """Hides build secrets in text: a build may print one (a RUN that echoes it)."""
    values = [value for value in secret_env(config).values() if len(value) >= 4]

    def redact(text: str) -> str:
        for value in values:
            text = text.replace(value, "[REDACTED]")
        return text

    return redact


def indented(config: Config, show: Say | None) -> Callable[[str], None] | None:
    """The build's output lines, redacted and indented, for `show` (None: not shown)."""
    if show is None:
        return None
    redact = redactor(config)
    return lambda text: show(f"    {redact(text)}")
