"""Image recipes and the fingerprint that decides whether to rebuild."""

from __future__ import annotations

from pathlib import Path

from kdeploy.sandbox import images


def test_every_image_and_label() -> None:
    names = [f"{s.repository}:{s.tag}" for s in images.all_images()]
    assert names == ["kdeploy-demo:v1", "kdeploy-demo:v2", "kdeploy-demo:v3",
                     "kdeploy-demo:v3-unhealthy", "kdeploy-db:1", "kdeploy-db:2"]
    for spec in images.all_images():
        label = "kdeploy-demo" if spec.repository == "kdeploy-demo" else "kdeploy-demo-db"
        assert f"LABEL service={label}\n" in spec.files["Dockerfile"]


def test_web_serves_version_and_traps_term() -> None:
    spec = images.web_image("v2")
    assert spec.files["www/version"] == "v2\n"
    assert "trap 'exit 0' TERM" in spec.files["Dockerfile"]
    assert "HEALTHCHECK" not in spec.files["Dockerfile"]
    assert "HEALTHCHECK" in images.web_image("v3", unhealthy=True).files["Dockerfile"]


def test_fingerprint_follows_inputs(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"one")
    first = images.fingerprint(busybox, images.all_images())
    assert first == images.fingerprint(busybox, images.all_images())
    assert first != images.fingerprint(busybox, images.all_images()[:-1])
    busybox.write_bytes(b"two")
    assert first != images.fingerprint(busybox, images.all_images())


def test_context_and_rootfs(tmp_path: Path) -> None:
    context = images.write_context(images.db_image("1"), tmp_path)
    assert (context / "Dockerfile").exists() and (context / "db.sh").exists()
    busybox = tmp_path / "bb"
    busybox.write_bytes(b"\x7fELF")
    images.write_rootfs(busybox, tmp_path / "rootfs")
    assert (tmp_path / "rootfs" / "bin" / "sh").readlink() == Path("busybox")
