"""What `build push` runs on this machine, as argv lists (Kamal's `commands/builder/*.rb`).

Pure: a Config in, argument lists out; nothing here runs. Kamal joins the same words into a
shell line (`--label service="app"`, `2>&1`); kdeploy passes them as argv without a shell, so
the quoting disappears and the program sees the same arguments.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kdeploy.config import Config

DOCKER_VERSION = ["docker", "--version"]
BUILDX_VERSION = ["docker", "buildx", "version"]
LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"
# Kamal's `docker buildx inspect` failures that mean "create the builder first".
MISSING_BUILDER = re.compile(r"context not found|no builder|no compatible builder|does not exist")
# Of those, the ones where a failing `docker buildx rm` is fine too.
REMOVABLE_BUILDER = re.compile(r"context not found|no builder|does not exist")
# Kamal's docker_arch: `docker info`'s architecture in Docker's platform words.
DOCKER_ARCH = ["docker", "info", "--format", "{{.Architecture}}"]
_ARCH_NAMES = (("aarch64", "arm64"), ("x86_64", "amd64"))


def docker_driver(config: Config) -> bool:
    """`driver: docker`: a plain build, no builder of its own (Kamal's docker_driver?)."""
    return config.builder.driver == "docker"


def builder_name(config: Config) -> str:
    """Kamal's local builder: `kamal-local[-registry]-<driver>`."""
    prefix = "kamal-local-registry" if config.registry.local else "kamal-local"
    return f"{prefix}-{config.builder.driver}"


def inspect_builder(config: Config) -> list[str] | None:
    """`docker buildx inspect <builder>`, or None for the docker driver (nothing to inspect)."""
    return None if docker_driver(config) else ["docker", "buildx", "inspect", builder_name(config)]


def create_builder(config: Config) -> list[str]:
    """`docker buildx create --name <builder> --driver=<driver>`.

    For a local registry the builder shares the host network, so it reaches `localhost:PORT`.
    """
    driver_options = ["--driver-opt", "network=host"] if config.registry.local else []
    return ["docker", "buildx", "create", "--name", builder_name(config),
            f"--driver={config.builder.driver}", *driver_options]


def remove_builder(config: Config) -> list[str]:
    """`docker buildx rm <builder>`."""
    return ["docker", "buildx", "rm", builder_name(config)]


def builder_kind(config: Config) -> str:
    """Kamal's builder name in `build details`: local, remote, hybrid, pack or cloud."""
    builder = config.builder
    if builder.remote:
        return "hybrid" if builder.local else "remote"
    if builder.pack_builder or builder.pack_buildpacks:
        return "pack"
    return "cloud" if builder.driver.startswith("cloud") else "local"


# Kamal's `build details`: `docker context ls && docker buildx ls`.
BUILDER_INFO = (["docker", "context", "ls"], ["docker", "buildx", "ls"])


def docker_arch(info_architecture: str) -> str:
    """`x86_64` -> `amd64`, `aarch64` -> `arm64`, anything else as it is (Kamal's docker_arch)."""
    for pattern, name in _ARCH_NAMES:
        if pattern in info_architecture:
            return name
    return info_architecture.strip()


def remote_arches(config: Config, local_arch: str) -> tuple[str, ...]:
    """The arches Kamal would hand to `builder.remote`: those this machine cannot build."""
    builder = config.builder
    if not builder.remote:
        return ()
    local = () if not builder.local else tuple(a for a in builder.arch if a == local_arch)
    return tuple(a for a in builder.arch if a not in local)


def login(server: str | None, username: str) -> list[str]:
    """`docker login [server] -u <user> --password-stdin`: the password never is an argument."""
    return ["docker", "login", *([server] if server else []), "-u", username, "--password-stdin"]


def start_local_registry() -> list[str]:
    """`docker start kamal-docker-registry` (the first half of Kamal's registry setup)."""
    return ["docker", "start", LOCAL_REGISTRY_CONTAINER]


def run_local_registry(port: int) -> list[str]:
    """The second half, when the container does not exist yet: Kamal's `registry:3` on loopback."""
    return ["docker", "run", "--detach", "-p", f"127.0.0.1:{port}:5000", "--name",
            LOCAL_REGISTRY_CONTAINER, "registry:3"]


def stop_local_registry() -> list[str]:
    """`docker stop kamal-docker-registry` (the first half of Kamal's registry remove)."""
    return ["docker", "stop", LOCAL_REGISTRY_CONTAINER]


def remove_local_registry() -> list[str]:
    """`docker rm kamal-docker-registry`, after the stop succeeded (Kamal's `&&`)."""
    return ["docker", "rm", LOCAL_REGISTRY_CONTAINER]


def image_tags(config: Config) -> list[str]:
    """`<repo>:<version>` and `<repo>:latest[-<destination>]`."""
    return [config.absolute_image, config.latest_image]


def buildx_push(config: Config, *, no_cache: bool = False, export_type: str = "registry",
                dirty: bool = False) -> list[str]:
    """Kamal's local `push`: build and push in one `docker buildx build --output=type=registry`.

    Args:
        config: the loaded config.
        no_cache: `--no-cache`.
        export_type: Kamal's `--output` (any `buildx --output` type: `registry`, `docker`…).
        dirty: `build dev`'s tags, `-dirty` appended to both.
    """
    builder = [] if docker_driver(config) else ["--builder", builder_name(config)]
    return ["docker", "buildx", "build", f"--output=type={export_type}",
            *platform_options(config), *builder, *_tag_options(config, dirty),
            *cache_options(config), *build_options(config),
            *(["--no-cache"] if no_cache else []), build_context(config)]


def legacy_build(config: Config, *, no_cache: bool = False, dirty: bool = False) -> list[str]:
    """The same build with the classic builder (no buildx): `docker build`, pushed separately."""
    return ["docker", "build", *platform_options(config), *_tag_options(config, dirty),
            *build_options(config), *(["--no-cache"] if no_cache else []), build_context(config)]


def dirty_tags(config: Config) -> list[str]:
    """`build dev`'s tags: `<repo>:<version>-dirty` and `<repo>:latest[-<dest>]-dirty`."""
    return [f"{tag}-dirty" for tag in image_tags(config)]


# `build dev` lists what the build context holds as Kamal's `Kamal::Docker.included_files`
# does: a busybox image that copies the context and prints its files.
BUILD_CHECK_TAG = "kamal-local-build-check"
BUILD_CHECK_DOCKERFILE = (
    "FROM busybox\nCOPY . app\nWORKDIR app\nCMD find . -type f | sed \"s|^\\./||\"\n"
)


def build_check(dockerfile: str, buildx: bool = True) -> list[str]:
    """`docker buildx build -t=kamal-local-build-check -f=<dockerfile> .` (Kamal's spelling).

    `buildx` False: the classic `docker build` with the same arguments (no buildx plugin).
    """
    build = ["buildx", "build"] if buildx else ["build"]
    return ["docker", *build, f"-t={BUILD_CHECK_TAG}", f"-f={dockerfile}", "."]


def run_build_check() -> list[str]:
    """`docker run --rm kamal-local-build-check`: prints the context's files, one a line."""
    return ["docker", "run", "--rm", BUILD_CHECK_TAG]


def legacy_push(tag: str) -> list[str]:
    """`docker push <tag>`: one per tag after a classic build."""
    return ["docker", "push", tag]


def needs_buildx(config: Config) -> list[str]:
    """The builder keys the classic `docker build` cannot honour (empty: it can build this)."""
    builder = config.builder
    keys = {
        "builder/arch (more than one)": len(builder.arch) > 1,
        "builder/cache": bool(builder.cache_type),
        "builder/secrets": bool(builder.secrets),
        "builder/ssh": bool(builder.ssh),
        "builder/provenance": builder.provenance is not None,
        "builder/sbom": builder.sbom is not None,
    }
    return [key for key, used in keys.items() if used]


def platform_options(config: Config) -> list[str]:
    """`--platform linux/<arch>[,linux/<arch>]` (nothing without arches)."""
    arches = config.builder.arch
    return ["--platform", ",".join(f"linux/{arch}" for arch in arches)] if arches else []


def cache_options(config: Config) -> list[str]:
    """`--cache-to` / `--cache-from` for a `gha` or `registry` cache (Kamal's builder config)."""
    builder = config.builder
    options = builder.cache_options
    if builder.cache_type == "gha":
        allowed = [o for o in (options or "").split(",")
                   if re.match(r"^(url|url_v2|token|scope|timeout)=", o)]
        cache_from = ",".join(["type=gha", *allowed])
        cache_to = ",".join(p for p in ("type=gha", options) if p is not None)
    elif builder.cache_type == "registry":
        image = builder.cache_image or f"{config.image}-build-cache"
        ref = "/".join(p for p in (config.registry.server, image) if p)
        cache_from = f"type=registry,ref={ref}"
        cache_to = ",".join(p for p in (cache_from, options) if p is not None)
    else:
        return []
    return ["--cache-to", cache_to, "--cache-from", cache_from]


def build_options(config: Config) -> list[str]:
    """Label, build args, secrets, Dockerfile, target, ssh, provenance and sbom, in Kamal's order.

    A build secret is read by buildx from the variable of the same name (`env=`), which
    `build_env` sets: the value is never an argument.
    """
    builder = config.builder
    options = ["--label", f"service={config.service}"]
    for key, value in builder.args.items():
        options += ["--build-arg", f"{key}={value}" if value != "" else key]
    for name in builder.secrets:
        options += ["--secret", f"id={name},env={name}"]
    options += ["--file", builder.dockerfile]
    if builder.target:
        options += ["--target", builder.target]
    if builder.ssh:
        options += ["--ssh", builder.ssh]
    if builder.provenance is not None:
        options += ["--provenance", builder.provenance]
    if builder.sbom is not None:
        options += ["--sbom", str(builder.sbom).lower()]
    return options


def build_context(config: Config) -> str:
    """`builder.context`, else `.` (the clone's or the project's directory)."""
    return config.builder.context or "."


def redacted(argv: list[str]) -> list[str]:
    """The argv as Kamal logs it: build-arg values hidden (`--build-arg KEY=[REDACTED]`)."""
    shown = list(argv)
    for index, word in enumerate(shown[:-1]):
        if word == "--build-arg" and "=" in shown[index + 1]:
            shown[index + 1] = shown[index + 1].split("=", 1)[0] + "=[REDACTED]"
    return shown


def _tag_options(config: Config, dirty: bool = False) -> list[str]:
    tags = dirty_tags(config) if dirty else image_tags(config)
    return [word for tag in tags for word in ("-t", tag)]
