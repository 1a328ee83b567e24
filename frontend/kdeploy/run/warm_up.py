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

Where Ansible would discover the host's Python (no `x-kdeploy/python_interpreter`), the warm-up
runs Ansible's discovery command instead of `true` and keeps the answer as the host's fact
(run/interpreter_facts.py), so the first module task on the host goes straight to its module.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.host_contract.inventory import ssh_vars
from kdeploy.run.interpreter_facts import DISCOVERY_COMMAND, interpreter_from, keep_interpreter
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
                 check_host_keys: bool = True, command: str = "true") -> list[str]:
    """The ssh command Ansible's ssh connection runs for `host`, running `command`, never asking.

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
             "-o", "BatchMode=yes", host, command]
    return argv


@contextmanager
def warming_up(config: Config, hosts: Sequence[str], ssh_config: Path,
               control_dir: Path | None, facts_dir: Path | None = None) -> Iterator[None]:
    """Start the warm-ups of `hosts` and, once the block ends, stop any still connecting.

    With a `facts_dir` (the command's fact cache) and no interpreter set in the config, each
    warm-up discovers the host's Python and keeps it there as soon as it has answered.
    Nothing starts without a control directory (no masters to share) or under mitogen, which
    opens connections of its own and no ControlPersist masters.
    """
    if control_dir is None or mitogen_enabled(config):
        yield
        return
    variables = ssh_vars(config)
    check_host_keys = host_key_checking(config)  # one config: the same for every host
    discovers = facts_dir is not None and "ansible_python_interpreter" not in variables
    command = DISCOVERY_COMMAND if discovers else "true"
    started: list[subprocess.Popen[bytes]] = []
    readers: list[threading.Thread] = []
    for host in hosts:
        try:
            process = subprocess.Popen(
                warm_up_argv(variables, host, ssh_config, control_dir, check_host_keys, command),
                stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                stdout=subprocess.PIPE if discovers else subprocess.DEVNULL)
        except OSError:
            break  # no ssh to start: Ansible's own connection will say so, host by host
        started.append(process)
        if discovers:
            readers.append(threading.Thread(target=_keep_answer, args=(process, facts_dir, host),
                                            daemon=True))
            readers[-1].start()
    try:
        yield
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
        for reader in readers:
            reader.join()


def _keep_answer(process: subprocess.Popen[bytes], facts_dir: Path, host: str) -> None:
    """Read a discovering warm-up's output to its end; keep the Python it names, if any.

    The output is all that counts, as for Ansible's own discovery: a warm-up killed or failed
    part way leaves no listing, and Ansible discovers that host itself.
    """
    assert process.stdout is not None
    with process.stdout:
        interpreter = interpreter_from(process.stdout.read().decode(errors="replace"))
    if interpreter is not None:
        with suppress(OSError):  # a fact not kept: Ansible discovers this host itself
            keep_interpreter(facts_dir, host, interpreter)
