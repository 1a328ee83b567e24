"""Names and addresses: host i at .(10+i), bridge and registry at .1."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.sandbox import layout


def test_addresses() -> None:
    assert layout.gateway_address("10.213.7.0/24") == "10.213.7.1"
    assert layout.host_address("10.213.7.0/24", 1) == "10.213.7.11"
    assert layout.host_address("10.213.7.0/24", 10) == "10.213.7.20"
    assert layout.registry_address("192.168.77.0/24") == "192.168.77.1:5000"


def test_names_fit_interface_limits() -> None:
    assert layout.host_name(3) == "kd-host3"
    assert len(layout.veth_name(200)) <= 15 and len(layout.BRIDGE) <= 15


def test_environment_overrides_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KDEPLOY_SANDBOX_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("KDEPLOY_SANDBOX_CACHE", str(tmp_path / "c"))
    paths = layout.default_layout()
    assert paths.state_file == tmp_path / "s" / "state.json"
    assert paths.key_path == tmp_path / "s" / "ssh" / "id_ed25519"
    assert paths.cache == tmp_path / "c"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KDEPLOY_SANDBOX_DIR", raising=False)
    assert layout.default_layout().root == Path("/var/lib/kdeploy-sandbox")
