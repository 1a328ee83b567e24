"""The images the sandbox serves: a demo web app (v1-v3) and a fake database accessory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

BASE_IMAGE = "kdeploy-busybox:latest"
# Bump when the image recipes change in a way the fingerprint cannot see.
RECIPE_VERSION = "1"
BUSYBOX_APPLETS = ("sh", "httpd", "nc", "sleep", "cat", "echo", "mkdir", "ls", "false", "true",
                   "wget", "ps", "kill", "date", "env", "id", "hostname", "rm", "touch")

# `wait` returns on TERM, so the container stops at once instead of after docker's timeout.
WEB_CMD = """["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]"""
DB_SCRIPT = """\
#!/bin/sh
# A fake database: keeps /data, answers every TCP connection on 5432 with its version.
trap 'exit 0' TERM
mkdir -p /data
date >> /data/boots
while true; do echo "kdeploy-db $DB_VERSION" | nc -l -p 5432; done &
wait
"""


@dataclass(frozen=True)
class ImageSpec:
    """One image to build: repository, tag and build-context files (name -> text)."""

    repository: str
    tag: str
    files: dict[str, str] = field(default_factory=dict)

    def name(self, registry: str) -> str:
        """The full image name in `registry`."""
        return f"{registry}/{self.repository}:{self.tag}"


def web_image(version: str, unhealthy: bool = False) -> ImageSpec:
    """The demo web app: `/up` answers 200, `/version` prints `version`."""
    health = 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["false"]\n'
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL service=kdeploy-demo\nCOPY www /www\nEXPOSE 80\n"
                  f"{health if unhealthy else ''}CMD {WEB_CMD}\n")
    tag = f"{version}-unhealthy" if unhealthy else version
    return ImageSpec("kdeploy-demo", tag, {"Dockerfile": dockerfile, "www/up": "OK\n",
                                           "www/version": f"{version}\n"})


def db_image(version: str) -> ImageSpec:
    """The fake accessory `kdeploy-db`: TCP 5432, data dir /data."""
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL service=kdeploy-demo-db\nENV DB_VERSION={version}\n"
                  'COPY db.sh /db.sh\nEXPOSE 5432\nCMD ["sh", "/db.sh"]\n')
    return ImageSpec("kdeploy-db", version, {"Dockerfile": dockerfile, "db.sh": DB_SCRIPT})


def all_images() -> list[ImageSpec]:
    """Every image the sandbox registry serves."""
    return [web_image("v1"), web_image("v2"), web_image("v3"), web_image("v3", unhealthy=True),
            db_image("1"), db_image("2")]


def fingerprint(busybox: Path, images: list[ImageSpec]) -> str:
    """A hash of everything the images are made of: unchanged hash means no rebuild."""
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    digest.update(busybox.read_bytes())
    digest.update(" ".join(BUSYBOX_APPLETS).encode())
    for spec in images:
        digest.update(f"{spec.repository}:{spec.tag}".encode())
        for name in sorted(spec.files):
            digest.update(f"{name}\0{spec.files[name]}\0".encode())
    return digest.hexdigest()


def write_context(spec: ImageSpec, directory: Path) -> Path:
    """Write the build context of `spec` under `directory`; return its path."""
    context = directory / f"{spec.repository}-{spec.tag}"
    for name, text in spec.files.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    return context


def write_rootfs(busybox: Path, rootfs: Path) -> None:
    """An empty rootfs with static busybox and its applets: the base of every image."""
    bin_dir = rootfs / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "data", "www", "etc"):
        (rootfs / sub).mkdir(exist_ok=True)
    (bin_dir / "busybox").write_bytes(busybox.read_bytes())
    (bin_dir / "busybox").chmod(0o755)
    for applet in BUSYBOX_APPLETS:
        (bin_dir / applet).symlink_to("busybox")
