"""SSH host keys as Kamal checks them (issue 12): a new host's key is accepted and recorded in
~/.ssh/known_hosts, a changed one stops the deploy (exit 1) naming the host and the fingerprint,
and nothing changes on that host.

The sandbox records its hosts' keys on `up`; each test edits ssh's known_hosts (the file ssh
itself uses: `~` from the password database) and puts it back as it was afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import helpers
import pytest
from app_state import assert_runs
from project import (
    SECRETS,
    Project,
    Run,
    address,
    app_container,
    example_config,
    free_address,
    lock_dirs,
    running_names,
    snapshot,
)

from kdeploy.host_contract.names import secret_env_var
from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.hosts import host_key_file
from kdeploy.sandbox.known_hosts import public_key, user_known_hosts

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]


@pytest.fixture
def known_hosts() -> Iterator[Path]:
    """ssh's known_hosts, restored byte for byte after the test."""
    path = user_known_hosts()
    before = path.read_bytes() if path.exists() else None
    yield path
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(clean_sandbox)
    config.pop("accessories")
    return Project.write(tmp_path, config)


@pytest.fixture
def kdeploy(project: Project) -> Iterator[Callable[..., Run]]:
    """Run kdeploy in the project with no ssh connection left open by an earlier run.

    Ansible keeps each host's ssh connection open for 60 s (ControlPersist) and the next run
    reuses it without a new key exchange: that connection was checked when it opened, and a
    rebuilt host would have closed it. Here the host stays up while its recorded key changes, so
    each run gets control sockets of its own, and ssh meets the host anew.
    """
    made: list[str] = []

    def run(*args: str) -> Run:
        made.append(tempfile.mkdtemp(prefix="kd-cp-"))  # short: a socket path has 108 bytes
        env = {**os.environ, "ANSIBLE_SSH_CONTROL_PATH_DIR": made[-1]}
        return project.run([sys.executable, "-m", "kdeploy", *args], env=env)

    yield run
    for directory in made:
        shutil.rmtree(directory, ignore_errors=True)


def recorded_keys(known_hosts: Path, host: str) -> list[str]:
    """`<type> <base64>` of every entry known_hosts holds for `host` (hashed ones included)."""
    found = subprocess.run(["ssh-keygen", "-F", host, "-f", str(known_hosts)],
                           capture_output=True, text=True, check=False).stdout
    return [" ".join(line.split()[1:3]) for line in found.splitlines()
            if line.strip() and not line.startswith("#")]


def forget(known_hosts: Path, host: str) -> None:
    """Remove `host`'s entries from known_hosts."""
    subprocess.run(["ssh-keygen", "-R", host, "-f", str(known_hosts)], capture_output=True,
                   check=True)


def served_key(info: SandboxInfo, index: int) -> str:
    """The key host `index`'s sshd presents."""
    return public_key(host_key_file(info.host(index).directory))


def fingerprint(key: str, directory: Path) -> str:
    """`SHA256:...` of a public key, as ssh prints it."""
    path = directory / "key.pub"
    path.write_text(key + "\n")
    printed = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True,
                             text=True, check=True).stdout
    return printed.split()[1]


def kamal_state(info: SandboxInfo, index: int) -> str:
    """Every file under ~/.kamal on host `index` with its size, mtime and checksum."""
    return helpers.ssh(info, index, "cd ~/.kamal 2>/dev/null && find . -type f -exec "
                                    "stat -c '%n %s %Y' {} \\; -exec md5sum {} \\; | sort "
                                    "|| true").stdout


def test_sandbox_keys_are_recorded_so_plain_ssh_checks_them(clean_sandbox: SandboxInfo,
                                                            known_hosts: Path) -> None:
    info = clean_sandbox
    for index in (1, 2, 3):
        assert recorded_keys(known_hosts, address(info, index)) == [served_key(info, index)]
    # ssh's own default (StrictHostKeyChecking ask) in batch mode refuses any key it does not
    # know: this connects only because `up` recorded the right one.
    run = subprocess.run(["ssh", "-i", str(info.key_path), "-o", "BatchMode=yes",
                          "-o", "IdentitiesOnly=yes", f"root@{address(info, 2)}", "hostname"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, info.host(2).name), run.stderr


def test_a_new_host_is_accepted_and_recorded(clean_sandbox: SandboxInfo, known_hosts: Path,
                                             kdeploy: Callable[..., Run]) -> None:
    info = clean_sandbox
    for index in (2, 3):
        forget(known_hosts, address(info, index))
        assert recorded_keys(known_hosts, address(info, index)) == []

    run = kdeploy("setup", "-P", "--version", "v1")

    assert run.returncode == 0, run
    assert_runs(info, "v1")
    for index in (1, 2, 3):
        # Once each: the concurrent first connections did not write an entry twice or mangle one.
        assert recorded_keys(known_hosts, address(info, index)) == [served_key(info, index)]


def test_a_changed_host_key_stops_the_deploy_and_changes_nothing_on_that_host(
        clean_sandbox: SandboxInfo, known_hosts: Path, kdeploy: Callable[..., Run],
        tmp_path: Path) -> None:
    info = clean_sandbox
    run = kdeploy("setup", "-P", "--version", "v1")
    assert run.returncode == 0, run
    changed = address(info, 2)
    # Another valid key recorded for host 2: to ssh, exactly a host whose key changed.
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forget(known_hosts, changed)
    with known_hosts.open("a") as stream:
        stream.write(f"{changed} {public_key(other)}\n")
    containers_before = {key: value for key, value in snapshot(info).items() if key[0] == 2}
    kamal_before = kamal_state(info, 2)

    run = kdeploy("deploy", "-P", "--version", "v2")

    assert run.returncode == 1, run
    # The output ends with the reason per host; the error line names the hosts only. Job's host
    # fails too when host 2's unreachable web release is the first to close the role barrier
    # (host 1's web release may open it first instead): then it was never touched either.
    job_host = address(info, 3)
    job_held = f"not booting job on {job_host}" in run.stdout
    expected = f"failed on {job_host}; {changed} unreachable (" if job_held else (
        f"ERROR: {changed} unreachable (")
    assert expected in run.stderr, run
    errors = re.split(r"--> kdeploy deploy failed on \d+ hosts? in ", run.stdout, maxsplit=1)[-1]
    assert f"\n    {changed} unreachable at '" in errors, run
    assert "host key changed: the host now sends ED25519 " in errors, run
    assert fingerprint(served_key(info, 2), tmp_path) in errors, run
    assert f'-R "{changed}"' in errors and "To fix: " in errors, run
    assert "Traceback" not in run.output
    summary = run.stdout.split("--> Summary", 1)[-1]
    assert f"{changed}  unreachable: ok=0 changed=0 failed=0 unreachable=1" in summary, run
    # A boot play stops at the first failure (any_errors_fatal).
    assert f"{changed} was unreachable; no task ran on the other hosts after that" in summary
    # Nothing changed on host 2: same containers (ids, start times, states), same ~/.kamal.
    assert {key: value for key, value in snapshot(info).items() if key[0] == 2} == (
        containers_before)
    assert kamal_state(info, 2) == kamal_before
    # The refused key stays refused: kdeploy did not replace the recorded entry.
    assert recorded_keys(known_hosts, changed) == [public_key(other)]
    assert lock_dirs(info, 1) == []


def test_a_plain_ansible_playbook_run_of_an_export_checks_keys_too(
        clean_sandbox: SandboxInfo, project: Project, known_hosts: Path,
        kdeploy: Callable[..., Run], tmp_path: Path) -> None:
    info = clean_sandbox
    exported = tmp_path / "exported"
    export = kdeploy("export", str(exported), "-P", "--version", "v1")
    assert export.returncode == 0, export
    line = next(line.strip() for line in export.stdout.splitlines()
                if line.strip().startswith("cd "))
    directory, command = line.removeprefix("cd ").split(" && ", 1)
    argv = [word for word in shlex.split(command) if "=" not in word]
    changed = address(info, 3)
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forget(known_hosts, changed)
    with known_hosts.open("a") as stream:
        stream.write(f"{changed} {public_key(other)}\n")
    # Nothing from kdeploy's own runs: no runner default, no open connection.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = tempfile.mkdtemp(prefix="kd-cp-")
    secrets = {secret_env_var(name): value for name, value in SECRETS.items()}

    run = project.run([str(Path(sys.executable).parent / argv[0]), *argv[1:]],
                      cwd=Path(directory), env={**env, **secrets})
    shutil.rmtree(env["ANSIBLE_SSH_CONTROL_PATH_DIR"], ignore_errors=True)

    assert run.returncode != 0, run
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in run.stdout, run
    assert f"fatal: [{changed}]: UNREACHABLE!" in run.stdout, run
    assert helpers.containers(info, 3) == []


def test_an_unreachable_host_is_named_with_the_step_sshs_reason_and_the_others_state(
        clean_sandbox: SandboxInfo, project: Project, kdeploy: Callable[..., Run]) -> None:
    info = clean_sandbox
    nowhere = free_address(info)
    project.config["servers"]["job"]["hosts"].append(nowhere)
    project.save()

    run = kdeploy("setup", "-P", "--version", "v1")

    assert run.returncode == 1, run
    assert f"ERROR: {nowhere} unreachable (" in run.stderr, run
    error = run.stdout.split("--> kdeploy setup failed on 1 host in ", 1)[-1]
    # No host answers ARP for a free address: the kernel says no route (or, on a slower
    # network stack, ssh's ConnectTimeout runs out first).
    assert f"\n    {nowhere} unreachable at '" in error, run
    assert ("): no route to host (ssh: connect to host " in error
            or "): connection timed out (ssh: connect to host " in error), run
    summary = run.stdout.split("--> Summary", 1)[-1]
    assert f"{nowhere} was unreachable; the other hosts went on (" in summary, run
    for index in (1, 2, 3):
        assert f"    {address(info, index)}  changed: ok=" in summary, run
    assert running_names(info, 3) == {app_container("job")}


@pytest.mark.skipif(importlib.util.find_spec("ansible_mitogen") is None,
                    reason="mitogen is not installed (pip install 'kdeploy[mitogen]')")
def test_under_mitogen_a_new_host_is_recorded_by_the_check_and_the_next_run_passes(
        clean_sandbox: SandboxInfo, project: Project, known_hosts: Path,
        kdeploy: Callable[..., Run]) -> None:
    info = clean_sandbox
    project.config["x-kdeploy"] = {"mitogen": True}
    project.save()
    new = address(info, 3)
    forget(known_hosts, new)

    # mitogen forces StrictHostKeyChecking yes: it refuses the new host...
    first = kdeploy("setup", "-P", "--version", "v1")
    assert first.returncode == 1, first
    assert f"{new} unreachable at '" in first.stdout, first
    assert "new host key refused by mitogen, now recorded" in first.stdout, first
    assert "To fix: run again" in first.stdout, first
    # ...and kdeploy's check (Ansible's own ssh, accept-new) recorded it, so the next run passes.
    assert recorded_keys(known_hosts, new) == [served_key(info, 3)]
    again = kdeploy("setup", "-P", "--version", "v1")
    assert again.returncode == 0, again
    assert running_names(info, 3) == {app_container("job")}
