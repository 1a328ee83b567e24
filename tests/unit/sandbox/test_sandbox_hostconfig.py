"""A host's sshd_config, dockerd command and boot script."""

from __future__ import annotations

from pathlib import Path

from kdeploy.sandbox import hostconfig

HOST_DIR = Path("/var/lib/kdeploy-sandbox/hosts/kd-host1")


def test_sshd_config_is_per_host_and_keys_only() -> None:
    config = hostconfig.sshd_config("10.213.7.11", HOST_DIR).splitlines()
    for line in ("ListenAddress 10.213.7.11", f"HostKey {HOST_DIR}/etc/ssh_host_ed25519_key",
                 "PidFile /run/sshd.pid", "UsePAM no", "PermitRootLogin prohibit-password",
                 "PasswordAuthentication no"):
        assert line in config


def test_dockerd_has_its_own_roots_and_trusts_the_registry() -> None:
    argv = hostconfig.dockerd_argv("kd-host1", HOST_DIR, "10.213.7.1:5000")
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert pairs["--data-root"] == f"{HOST_DIR}/docker"
    assert pairs["--exec-root"] == "/run/docker"
    assert pairs["--pidfile"] == "/run/docker.pid"
    assert pairs["--insecure-registry"] == "10.213.7.1:5000"
    assert pairs["--cgroup-parent"] == "/kdeploy-sandbox/kd-host1/containers"


def test_boot_script_binds_run_and_root_then_execs_sshd() -> None:
    script = hostconfig.boot_script("kd-host1", HOST_DIR, "/usr/sbin/sshd", None).splitlines()
    assert f"mount --bind {HOST_DIR}/run /run" in script
    assert f"mount --bind {HOST_DIR}/root /root" in script
    assert "hostname kd-host1" in script
    assert script[-1].startswith("exec /usr/sbin/sshd -D -f ")


def test_scripts_join_the_cgroup_first() -> None:
    cgroup = Path("/sys/fs/cgroup/pids/kdeploy-sandbox/kd-host1/daemons")
    boot = hostconfig.boot_script("kd-host1", HOST_DIR, "/usr/sbin/sshd", cgroup).splitlines()
    assert boot[2] == f"echo $$ > {cgroup}/cgroup.procs"
    dockerd = hostconfig.dockerd_script("kd-host1", HOST_DIR, "r:5000", cgroup).splitlines()
    assert dockerd[2] == f"echo $$ > {cgroup}/cgroup.procs"
    assert dockerd[3].startswith("exec dockerd --data-root ")
