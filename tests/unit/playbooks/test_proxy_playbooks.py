"""playbooks/proxy_*.yml run for real against this machine with a fake `docker` that records argv.

The recorded argv must be Kamal 2.11.0's (lib/kamal/commands/proxy.rb, cli/proxy.rb) for the
kamal-proxy engine, and the caddy engine's by-name equivalents; the sandbox e2e tests run the
same playbooks against real dockerds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playbook_support import REPO, collections_dir, require_tool

KAMAL_RUN_ARGS = [
    "--name", "kamal-proxy", "--network", "kamal", "--detach", "--restart", "unless-stopped",
    "--volume", "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy",
    "--volume", "$(pwd)/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config",
    "--publish", "80:80", "--publish", "443:443", "--log-opt", "max-size=10m",
    "basecamp/kamal-proxy:v0.9.2", "kamal-proxy", "run"]
KAMAL = {"engine": "kamal-proxy", "container": "kamal-proxy",
         "image": "basecamp/kamal-proxy:v0.9.2", "run_args": KAMAL_RUN_ARGS,
         "directories": [".kamal/proxy/apps-config"], "files": [],
         "image_title": "kamal-proxy", "admin_socket": None}
CADDY = {"engine": "caddy", "container": "kdeploy-proxy", "image": "reg:5000/kdeploy-caddy:2",
         "run_args": ["--name", "kdeploy-proxy",
                      "--volume", "$(pwd)/.kdeploy/proxy:/etc/kdeploy-proxy",
                      "reg:5000/kdeploy-caddy:2", "caddy", "run", "--resume"],
         "directories": [".kdeploy/proxy"],
         "files": [{"path": ".kdeploy/proxy/caddy.json", "content": "{}\n", "mode": "0600"}],
         "image_title": None, "admin_socket": ".kdeploy/proxy/admin.sock"}

FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
case "$1 $2" in
  "container inspect") [ -n "$FAKE_INSPECT" ] && echo "$FAKE_INSPECT" && exit 0; exit 1 ;;
  "container start") exit "${FAKE_START_RC:-0}" ;;
  "network create") [ -n "$FAKE_NETWORK_EXISTS" ] && echo "network kamal already exists" >&2 \
    && exit 1 ;;
esac
exit 0
"""


def _run(tmp_path: Path, playbook: str, proxy: dict[str, Any], env: dict[str, str] | None = None,
         extra: dict[str, Any] | None = None,
         args: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    tool = require_tool("ansible-playbook")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.write_text("")
    inventory = {"all": {"vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "kdeploy_performer": "me", "kdeploy_destination": "",
        "kdeploy_service_with_destination": "app", "proxy_registry_login": False,
        "kdeploy_proxy": proxy, **(extra or {})},
        "children": {"kdeploy_proxy": {"hosts": {"h1": {}}}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    environment = {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
                   "FAKE_DOCKER_LOG": str(log),
                   "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections")),
                   "ANSIBLE_NOCOLOR": "1", **(env or {})}
    result = subprocess.run([tool, "-i", str(tmp_path / "inventory.json"),
                             str(REPO / "playbooks" / playbook), *args],
                            cwd=home, env=environment, capture_output=True, text=True, check=False)
    return result, log.read_text().splitlines()


def _recap(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.rsplit("PLAY RECAP", 1)[-1]


def test_boot_runs_kamals_start_or_run_with_the_home_directory(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_boot.yml", KAMAL, {"FAKE_START_RC": "1"})
    assert result.returncode == 0, result.stdout
    home = tmp_path / "home"
    run = " ".join(KAMAL_RUN_ARGS).replace("$(pwd)", str(home))
    assert calls == ["network create kamal",
                     "container inspect --format {{.State.Running}} kamal-proxy",
                     "container start kamal-proxy", "run " + run]
    assert (home / ".kamal/proxy/apps-config").is_dir()


def test_a_second_boot_leaves_the_running_proxy_alone(tmp_path: Path) -> None:
    (tmp_path / "home/.kamal/proxy/apps-config").mkdir(parents=True)
    result, calls = _run(tmp_path, "proxy_boot.yml", KAMAL,
                         {"FAKE_INSPECT": "true", "FAKE_NETWORK_EXISTS": "1"})
    assert result.returncode == 0, result.stdout
    assert not any(call.startswith(("run", "container start")) for call in calls)
    assert "changed=0 " in _recap(result)


def test_caddy_boot_writes_its_config_before_it_runs(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_boot.yml", CADDY)
    assert result.returncode == 0, result.stdout
    config = tmp_path / "home/.kdeploy/proxy/caddy.json"
    assert config.read_text() == "{}\n" and config.stat().st_mode & 0o777 == 0o600
    assert calls[-1] == "container start kdeploy-proxy"


def test_reboot_stops_prunes_by_title_and_runs(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_reboot.yml", KAMAL)
    assert result.returncode == 0, result.stdout
    assert calls[0] == "container inspect --format {{.Config.Image}} kamal-proxy"  # the outcome's
    assert calls[1:3] == [
        "container stop kamal-proxy",
        "container prune --force --filter label=org.opencontainers.image.title=kamal-proxy"]
    assert calls[-1].startswith("run --name kamal-proxy ")
    assert "Rebooted proxy" in (tmp_path / "home/.kamal/app-audit.log").read_text()


def test_caddy_reboot_removes_the_container_by_name(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_reboot.yml", CADDY)
    assert result.returncode == 0, result.stdout
    assert calls[1:3] == ["container stop kdeploy-proxy", "container rm kdeploy-proxy"]


_CHECK_READS = ("network inspect", "container inspect")


def test_a_boot_check_only_reads_and_says_what_it_would_do(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_boot.yml", CADDY, args=("--check", "--diff"))
    assert result.returncode == 0, result.stdout
    assert calls and all(call.startswith(_CHECK_READS) for call in calls), calls
    assert not (tmp_path / "home/.kdeploy").exists()
    assert "kdeploy: would run" in result.stdout or "changed: [h1]" in result.stdout
    assert "{}" not in result.stdout.split("Write the proxy files", 1)[-1].split("TASK", 1)[0]


def test_a_boot_check_of_a_running_proxy_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "home/.kamal/proxy/apps-config").mkdir(parents=True)
    result, calls = _run(tmp_path, "proxy_boot.yml", KAMAL,
                         {"FAKE_INSPECT": "true", "FAKE_NETWORK_EXISTS": "1"}, args=("--check",))
    assert result.returncode == 0, result.stdout
    assert all(call.startswith(_CHECK_READS) for call in calls), calls
    assert "changed=0 " in _recap(result)


def test_a_reboot_check_only_reads_the_image(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "proxy_reboot.yml", KAMAL,
                         {"FAKE_INSPECT": "basecamp/kamal-proxy:v0.8.0"}, args=("--check",))
    assert result.returncode == 0, result.stdout
    assert all(call.startswith(_CHECK_READS) for call in calls), calls
    assert not (tmp_path / "home/.kamal/app-audit.log").exists()


@pytest.mark.parametrize(("running", "fails"), [
    ("basecamp/kamal-proxy:v0.9.2", False), ("basecamp/kamal-proxy:v0.8.0", True), ("", False)])
def test_check_fails_only_on_another_running_image(tmp_path: Path, running: str,
                                                   fails: bool) -> None:
    result, calls = _run(tmp_path, "proxy_check.yml", KAMAL, {"FAKE_INSPECT": running})
    assert (result.returncode != 0) is fails
    assert calls == ["container inspect --format {{.Config.Image}} kamal-proxy"]
    if fails:
        message = ("The proxy kamal-proxy on h1 runs basecamp/kamal-proxy:v0.8.0, but the config "
                   "pins basecamp/kamal-proxy:v0.9.2: run `kdeploy proxy reboot` to replace it.")
        assert message in result.stdout


def test_remove_is_skipped_while_apps_are_installed(tmp_path: Path) -> None:
    (tmp_path / "home/.kamal/apps/other").mkdir(parents=True)
    result, calls = _run(tmp_path, "proxy_remove.yml", KAMAL)
    assert result.returncode == 0, result.stdout
    assert calls == []
    assert "Not removing the proxy, as other apps are installed" in result.stdout


def test_forced_remove_stops_prunes_the_container_and_image_and_the_directory(
        tmp_path: Path) -> None:
    (tmp_path / "home/.kamal/apps/other").mkdir(parents=True)
    (tmp_path / "home/.kamal/proxy/apps-config").mkdir(parents=True)
    result, calls = _run(tmp_path, "proxy_remove.yml", KAMAL, extra={"proxy_force": True})
    assert result.returncode == 0, result.stdout
    title = "--filter label=org.opencontainers.image.title=kamal-proxy"
    assert calls == ["container stop kamal-proxy", f"container prune --force {title}",
                     f"image prune --all --force {title}"]
    assert not (tmp_path / "home/.kamal/proxy").exists()


def test_caddy_remove_goes_by_name_with_the_config_volume(tmp_path: Path) -> None:
    (tmp_path / "home/.kdeploy/proxy").mkdir(parents=True)
    result, calls = _run(tmp_path, "proxy_remove.yml", CADDY)
    assert result.returncode == 0, result.stdout
    assert calls == ["container stop kdeploy-proxy", "container rm kdeploy-proxy",
                     "volume rm kdeploy-proxy-config", "image rm reg:5000/kdeploy-caddy:2"]
    assert not (tmp_path / "home/.kdeploy/proxy").exists()


def test_start_stop_details_and_logs_are_kamals_commands(tmp_path: Path) -> None:
    expected = {
        "proxy_start.yml": ["container start kamal-proxy"],
        "proxy_stop.yml": ["container stop kamal-proxy"],
        "proxy_details.yml": ["ps --filter name=^kamal-proxy$"],
        "proxy_logs.yml": ["logs kamal-proxy --tail 100 --timestamps"],
    }
    for playbook, calls in expected.items():
        result, recorded = _run(tmp_path, playbook, KAMAL)
        assert result.returncode == 0, result.stdout
        assert recorded == calls, playbook
    assert "Read the proxy details." in _run(tmp_path, "proxy_details.yml", KAMAL)[0].stdout


def test_logs_take_kamals_options(tmp_path: Path) -> None:
    options = {"proxy_logs_since": "42m", "proxy_logs_lines": -1,
               "proxy_logs_grep": "GET /", "proxy_logs_timestamps": False}
    result, calls = _run(tmp_path, "proxy_logs.yml", KAMAL, extra=options)
    # The fake docker prints nothing, so grep finds nothing: no match is not an error.
    assert result.returncode == 0, result.stdout
    assert calls == ["logs kamal-proxy --since 42m"]
    assert "Read the proxy logs." in result.stdout
