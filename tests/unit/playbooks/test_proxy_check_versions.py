"""The check before a deploy (playbooks/proxy_check.yml): Caddy's version, boot config images.

A Caddy older than the caddy engine's minimum rejects kdeploy's config and crash-loops, so the
check runs `caddy version` in the pinned image and refuses it by name. A kamal-proxy booted from
Kamal's boot_config files is compared with the image the files pin. `docker` is a fake here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_proxy_playbooks as proxy_playbooks
from test_proxy_playbooks import CADDY, KAMAL, _run

from kdeploy.host_contract import caddy
from kdeploy.host_contract.kamal_proxy import legacy_run_prefix
from kdeploy.host_contract.proxy_boot_config import host_boot_config

# `docker run --rm --entrypoint caddy IMAGE version` prints $FAKE_CADDY_VERSION (exit $FAKE_RUN_RC).
FAKE_DOCKER = proxy_playbooks.FAKE_DOCKER.replace('case "$1 $2" in\n', (
    'case "$1 $2" in\n'
    '  "run --rm") [ -n "$FAKE_CADDY_VERSION" ] && echo "$FAKE_CADDY_VERSION";'
    ' exit "${FAKE_RUN_RC:-0}" ;;\n'))
PINNED_CADDY = CADDY | {"minimum_version": caddy.MINIMUM_VERSION}


@pytest.fixture(autouse=True)
def fake_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_playbooks, "FAKE_DOCKER", FAKE_DOCKER)


@pytest.mark.parametrize(("version", "rc", "fails"), [
    ("v2.11.7 h1:yj0Y4fYZGPkSvibBJ1sTWE33xC0fxztVyXEW5iIdUT4=", 0, False),
    ("v2.11.0 h1:abc", 0, False),
    ("v2.6.2 h1:Wh7qbs3Wb3pGBqcEAQ0iwiWDLh4Sc0oDnQ9AZS38NUk=", 0, True),
    ("2.10.2", 0, True),  # a distribution's build prints no `v`
    ("", 127, False),  # no caddy in the image (or no pull access yet): not judged here
])
def test_a_caddy_older_than_the_minimum_is_named(tmp_path: Path, version: str, rc: int,
                                                  fails: bool) -> None:
    result, calls = _run(tmp_path, "proxy_check.yml", PINNED_CADDY,
                         {"FAKE_CADDY_VERSION": version, "FAKE_RUN_RC": str(rc)})
    assert (result.returncode != 0) is fails, result.stdout
    assert "run --rm --entrypoint caddy reg:5000/kdeploy-caddy:2 version" in calls
    if fails:
        found = version.split()[0].lstrip("v")
        assert (f"The proxy image reg:5000/kdeploy-caddy:2 on h1 has Caddy {found}, but the "
                f"caddy engine needs Caddy {caddy.MINIMUM_VERSION} or newer") in result.stdout
        assert "pin a newer image in x-kdeploy/proxy/image" in result.stdout


def test_kamal_proxy_images_are_not_run(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_check.yml", KAMAL, {"FAKE_CADDY_VERSION": "v2.0.0"})
    assert result.returncode == 0, result.stdout
    assert not any(call.startswith("run") for call in calls)


@pytest.mark.parametrize(("files", "running", "fails"), [
    ({}, "basecamp/kamal-proxy:v0.9.2", False),
    ({"image_version": "v0.9.3"}, "basecamp/kamal-proxy:v0.9.2", True),
    ({"image": "reg:5000/basecamp/kamal-proxy", "image_version": "v0.9.3"},
     "reg:5000/basecamp/kamal-proxy:v0.9.3", False),
])
def test_a_boot_config_proxy_is_checked_against_its_files(
        tmp_path: Path, files: dict[str, str], running: str, fails: bool) -> None:
    directory = tmp_path / "home" / ".kamal" / "proxy"
    directory.mkdir(parents=True)
    for name, content in files.items():
        (directory / name).write_text(content)
    proxy = KAMAL | {"boot_config": host_boot_config(legacy_run_prefix())}
    result, _ = _run(tmp_path, "proxy_check.yml", proxy, {"FAKE_INSPECT": running})
    assert (result.returncode != 0) is fails, result.stdout
    if fails:
        assert ("runs basecamp/kamal-proxy:v0.9.2, but the config pins "
                "basecamp/kamal-proxy:v0.9.3") in result.stdout
