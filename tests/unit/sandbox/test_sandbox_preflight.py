"""Preflight: one message naming what is missing (apt packages), exit 2."""

from __future__ import annotations

import pytest

from kdeploy.sandbox import preflight
from kdeploy.sandbox.errors import SandboxUnavailable


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A fake machine: Linux, root, every command present; tests change what they need."""
    fake = {"system": "Linux", "euid": 0, "missing": set(), "static": True}
    monkeypatch.setattr(preflight.platform, "system", lambda: fake["system"])
    monkeypatch.setattr(preflight.os, "geteuid", lambda: fake["euid"])
    monkeypatch.setattr(preflight, "find_command",
                        lambda name: None if name in fake["missing"] else f"/usr/bin/{name}")
    monkeypatch.setattr(preflight, "is_static_elf", lambda path: fake["static"])
    return fake


def test_ready_machine_passes(machine: dict) -> None:
    preflight.check_machine()


def test_missing_commands_name_their_apt_packages(machine: dict) -> None:
    machine["missing"] = {"dockerd", "docker", "docker-registry", "sshd"}
    with pytest.raises(SandboxUnavailable) as caught:
        preflight.check_machine()
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        "kdeploy sandbox cannot run on this machine: missing packages: install them with "
        "`apt-get install docker-registry docker.io openssh-server`")


def test_not_root_says_so(machine: dict) -> None:
    machine["euid"] = 1000
    with pytest.raises(SandboxUnavailable, match="needs root"):
        preflight.check_machine()


def test_not_linux_says_so(machine: dict) -> None:
    machine["system"] = "Darwin"
    with pytest.raises(SandboxUnavailable, match=r"needs Linux \(this is Darwin\)"):
        preflight.check_machine()


def test_dynamic_busybox_asks_for_busybox_static(machine: dict) -> None:
    machine["static"] = False
    with pytest.raises(SandboxUnavailable, match="apt-get install busybox-static"):
        preflight.check_machine()


def test_static_elf_detection_on_real_files() -> None:
    python = preflight.find_command("python3")
    assert python is not None and not preflight.is_static_elf(python)
