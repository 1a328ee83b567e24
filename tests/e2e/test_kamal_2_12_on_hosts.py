"""Kamal 2.12's additions on real hosts: `exec --raw`, `options/restart`, `ssh/forward_agent`.

`--raw` must hand over the command's stdout byte for byte (Kamal's integration test pipes
`head -c 512 /dev/zero` through it), `options: {restart: …}` must be the restart policy of the
container that runs, and agent forwarding must be visible on the host (`SSH_AUTH_SOCK`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import helpers
import pytest
from event_schema import asks_for_json, validate_events
from project import Project, Run, accessory_container, address, app_container, example_config

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

# Bytes a text pipeline would change: NULs, a CR, a lone LF at the end, invalid UTF-8.
BINARY = "printf 'a\\000b\\r\\nc\\377\\n\\n'; head -c 512 /dev/zero"
EXPECTED = b"a\x00b\r\nc\xff\n\n" + b"\x00" * 512
# In a container: one word for the host's shell, which Kamal hands the command to as written.
IN_CONTAINER = f'sh -c "{BINARY}"'


def assert_ok(run: Run) -> Run:
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    return run


def raw(project: Project, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run kdeploy and keep its stdout as bytes (events, if it was asked for JSON, checked)."""
    argv = [sys.executable, "-m", "kdeploy", *args]
    result = subprocess.run(argv, cwd=project.directory, capture_output=True, timeout=300,
                            check=False)
    if asks_for_json(argv):
        validate_events(result.stdout.decode().splitlines())
    return result


def restart_policy(info: SandboxInfo, index: int, container: str) -> str:
    out = helpers.ssh(info, index, "docker inspect -f '{{.HostConfig.RestartPolicy.Name}}:"
                                   "{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "
                                   f"{container}").stdout
    return out.strip()


def test_raw_exec_and_restart_options_on_the_hosts(clean_sandbox: SandboxInfo,
                                                   tmp_path: Path) -> None:
    info = clean_sandbox
    config = example_config(info)
    config["servers"]["web"]["options"] = {"restart": "on-failure:3"}
    config["accessories"]["db"].setdefault("options", {})["restart"] = "always"
    project = Project.write(tmp_path, config)
    assert_ok(project.kdeploy("setup", "-P", "--version", "v1", "-q"))

    # options/restart replaces --restart unless-stopped for that role and that accessory only.
    assert restart_policy(info, 1, app_container("web")) == "on-failure:3"
    assert restart_policy(info, 3, app_container("job")) == "unless-stopped:0"
    assert restart_policy(info, 1, accessory_container("db")) == "always:0"

    # --raw: exactly the command's stdout, per host, nothing around it.
    new = raw(project, "app", "exec", "--raw", "-r", "job", "--version", "v1", IN_CONTAINER)
    assert new.returncode == 0, new.stderr
    assert new.stdout == EXPECTED
    reuse = raw(project, "app", "exec", "--raw", "--reuse", "-r", "web", IN_CONTAINER)
    assert reuse.returncode == 0, reuse.stderr
    assert reuse.stdout == EXPECTED * 2  # both web hosts, in host order
    # Kamal's integration test: the md5 of what went through is the md5 on the host.
    on_host = helpers.ssh(info, 1, "head -c 512 /dev/zero | md5sum").stdout.split()[0]
    piped = raw(project, "app", "exec", "--raw", "--reuse", "-p", 'sh -c "head -c 512 /dev/zero"')
    assert hashlib.md5(piped.stdout).hexdigest() == on_host, piped.stderr
    server = raw(project, "server", "exec", "--raw", "-h", address(info, 3), BINARY)
    assert (server.returncode, server.stdout) == (0, EXPECTED), server.stderr
    accessory = raw(project, "accessory", "exec", "--raw", "--reuse", "db", IN_CONTAINER)
    assert (accessory.returncode, accessory.stdout) == (0, EXPECTED), accessory.stderr
    # Without --raw the output is still Kamal's stripped text under `App Host:`.
    text = assert_ok(project.kdeploy("server", "exec", "-h", address(info, 3), "printf ' x \\n'"))
    assert "App Host: " + address(info, 3) in text.stdout and "\nx\n" in text.stdout

    # A failing command: its stdout still comes through, its stderr and the error on stderr.
    failed = raw(project, "server", "exec", "--raw", "-h", address(info, 3),
                 "printf out; echo oops >&2; exit 4")
    assert (failed.returncode, failed.stdout) == (1, b"out")
    assert b"oops" in failed.stderr and b"exited with status 4" in failed.stderr

    # Kamal's refusals, before anything runs.
    for argv, message in (
            (("app", "exec", "--raw", "-i", "true"), "Raw is not compatible with interactive"),
            (("app", "exec", "--raw", "--detach", "true"), "Raw is not compatible with detach"),
            (("server", "exec", "--raw", "-i", "true"), "Raw is not compatible with interactive"),
            (("accessory", "exec", "--raw", "-i", "db", "true"),
             "Raw is not compatible with interactive"),
            (("server", "exec", "--raw", "--output", "json", "true"), "--output json")):
        refused = project.kdeploy(*argv)
        assert refused.returncode == 2 and message in refused.stderr, refused


@pytest.fixture
def ssh_agent(tmp_path: Path):
    """A local ssh-agent of the test's own; yields its socket."""
    socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if socket.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        yield socket
    finally:
        os.kill(agent.pid, signal.SIGTERM)
        agent.wait(timeout=10)


def test_the_agent_is_forwarded_unless_forward_agent_is_false(clean_sandbox: SandboxInfo,
                                                              tmp_path: Path,
                                                              ssh_agent: Path) -> None:
    info = clean_sandbox
    env = {**os.environ, "SSH_AUTH_SOCK": str(ssh_agent)}
    probe = 'echo "agent=${SSH_AUTH_SOCK:-none}"'
    host = address(info, 2)

    def agent_on_host(config: dict) -> str:
        project = Project.write(tmp_path / f"project{len(list(tmp_path.glob('project*')))}",
                                config)
        run = project.run([sys.executable, "-m", "kdeploy", "server", "exec", "-q", "-h", host,
                           probe], env=env)
        assert run.returncode == 0, run
        (line,) = [line for line in run.stdout.splitlines() if line.startswith("agent=")]
        return line.removeprefix("agent=")

    config = example_config(info)
    # Kamal's default (sshkit's): forwarded.
    assert agent_on_host(config) != "none"
    config["ssh"] = {**config.get("ssh", {}), "forward_agent": True}
    assert agent_on_host(config) != "none"
    # false right after, while the forwarding connection is still kept open: not forwarded.
    config["ssh"]["forward_agent"] = False
    assert agent_on_host(config) == "none"
