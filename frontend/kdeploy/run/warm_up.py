"""Open the hosts' SSH connections while ansible-playbook starts (docs/performance.md).

ansible-playbook spends about half a second starting and reading its plays before its first
task connects, and a host's first connection then costs a key exchange and an authentication
(about 0.15 s; on the lock host, before anything else can happen). So kdeploy starts one
`ssh HOST true` per host of the plan at once, with the options Ansible's ssh connection passes
for that host and the ControlPath Ansible's ssh will look for (`control_path`): each becomes the
host's ControlPersist master, and Ansible's first task there finds the connection open.

A warm-up is only a head start. One that fails (an unreachable host, a refused key, a changed
host key) leaves nothing behind and says nothing: Ansible then connects as it always does and
reports the failure itself. `BatchMode` keeps a warm-up from ever asking for anything. The
masters are the command's own (process_owner closes them when it exits); a warm-up still
connecting when the run ends is stopped.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.host_contract.inventory import ssh_vars
from kdeploy.run.private_data_dir import (
    CONNECT_TIMEOUT,
    SSH_ARGS,
    host_key_checking,
    mitogen_enabled,
)

if TYPE_CHECKING:
    from kdeploy.config import Config

# What Ansible's ssh connection adds when no password is set (plugins/connection/ssh.py).
_KEY_AUTH_ONLY = ("-o", "KbdInteractiveAuthentication=no",
                  "-o", "PreferredAuthentications=gssapi-with-mic,gssapi-keyex,hostbased,publickey",
                  "-o", "PasswordAuthentication=no")


def control_path(variables: dict[str, Any], host: str, control_dir: Path) -> str:
    """The master's socket Ansible's ssh connection uses for `host`, in `control_dir`.

    Ansible names it by the first 10 hex digits of the sha1 of `host-port-user` (its
    `_create_control_path`), short because a socket's path has at most 107 bytes and ssh adds a
    random suffix while it creates one: ssh's own `%C` (40 digits) is too long under a long
    TMPDIR. An `ansible_control_path` of the inventory (`%C-no-agent`) is taken as it is.
    tests/unit/test_warm_up.py compares both with Ansible's.
    """
    template = variables.get("ansible_control_path")
    if template is None:
        name = f"{host}-{variables['ansible_port']}-{variables['ansible_user']}"
        template = "%(directory)s/" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return template % {"directory": control_dir}


def warm_up_argv(variables: dict[str, Any], host: str, ssh_config: Path, control_dir: Path,
                 check_host_keys: bool = True) -> list[str]:
    """The ssh command Ansible's ssh connection runs for `host`, running `true`, never asking.

    The options come in Ansible's order; those that decide the connection itself (user, port,
    keys, agent forwarding, jump host) must be the same, since every later session of the host
    shares this master. `control_dir` is Ansible's `control_path_dir`.
    """
    argv = ["ssh", *shlex.split(SSH_ARGS), "-F", str(ssh_config)]
    if not check_host_keys:
        argv += ["-o", "StrictHostKeyChecking=no"]
    argv += ["-o", f"Port={variables['ansible_port']}"]
    if variables.get("ansible_ssh_private_key_file"):
        argv += ["-o", f'IdentityFile="{variables["ansible_ssh_private_key_file"]}"']
    argv += [*_KEY_AUTH_ONLY, "-o", f'User="{variables["ansible_user"]}"',
             "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
    argv += shlex.split(variables.get("ansible_ssh_common_args") or "")
    argv += ["-o", f'ControlPath="{control_path(variables, host, control_dir)}"',
             "-o", "BatchMode=yes", host, "true"]
    return argv


@contextmanager
def warming_up(config: Config, hosts: Sequence[str], ssh_config: Path,
               control_dir: Path | None) -> Iterator[None]:
    """Start the warm-ups of `hosts` and, once the block ends, stop any still connecting.

    Nothing starts without a control directory (no masters to share) or under mitogen, which
    opens connections of its own and no ControlPersist masters.
    """
    if control_dir is None or mitogen_enabled(config):
        yield
        return
    variables = ssh_vars(config)
    check_host_keys = host_key_checking(config)  # one config: the same for every host
    started: list[subprocess.Popen[bytes]] = []
    for host in hosts:
        try:
            started.append(subprocess.Popen(
                warm_up_argv(variables, host, ssh_config, control_dir, check_host_keys),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except OSError:
            break  # no ssh to start: Ansible's own connection will say so, host by host
    try:
        yield
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
