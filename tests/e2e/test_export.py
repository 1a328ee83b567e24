"""`kdeploy export`: the directory plain `ansible-playbook` runs to the same hosts' state."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import helpers
import pytest
from project import (
    BIN,
    SECRETS,
    Project,
    accessory_container,
    address,
    app_container,
    assert_only_the_lock_changed,
    example_config,
    snapshot,
)

from kdeploy.host_contract.names import secret_env_var
from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

APP_SECRET = "kd-export-s3cret-0b8e4a"
# The export carries its own copy of the collection kdeploy.deploy (it runs elsewhere).
COLLECTION = "project/collections/ansible_collections/kdeploy/deploy"
EXPORTED = ("inventory/hosts.yml", "env/extravars", "project/setup.yml", "project/ansible.cfg",
            f"{COLLECTION}/playbooks/lock_acquire.yml",
            f"{COLLECTION}/roles/app/tasks/main.yml",
            f"{COLLECTION}/plugins/modules/release.py", "project/collections/requirements.yml",
            "project/ssh_config")
ENV_ASSIGNMENT = re.compile(r"^(?P<name>KDEPLOY_SECRET_\w+)=…$")


def printed_command(stdout: str) -> tuple[Path, list[str], list[str]]:
    """(dir, env var names, ansible-playbook argv) from export's `cd DIR && VAR=… ansible-…`."""
    line = next(line.strip() for line in stdout.splitlines() if line.strip().startswith("cd "))
    cd, command = line.split(" && ", 1)
    words = shlex.split(command)
    names = [m["name"] for word in words if (m := ENV_ASSIGNMENT.match(word))]
    argv = [word for word in words if not ENV_ASSIGNMENT.match(word)]
    assert argv[0] == "ansible-playbook", line
    return Path(cd.removeprefix("cd ")), names, argv


def test_exported_directory_runs_with_plain_ansible_playbook(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    config = example_config(info)
    config["env"] = {"secret": ["APP_TOKEN"]}
    secrets = SECRETS | {"APP_TOKEN": APP_SECRET}
    project = Project.write(tmp_path / "app", config, secrets)
    exported = tmp_path / "exported"

    export = project.kdeploy("export", str(exported), "-P", "--version", "v1")
    assert export.returncode == 0, export
    for path in EXPORTED:
        assert (exported / path).is_file(), path
    for path in exported.rglob("*"):
        if path.is_file():
            assert APP_SECRET.encode() not in path.read_bytes(), path

    directory, names, argv = printed_command(export.stdout)
    assert directory == exported.resolve() / "project"
    assert sorted(names) == sorted(secret_env_var(name) for name in secrets)
    values = {secret_env_var(name): value for name, value in secrets.items()}
    run = project.run([str(BIN / argv[0]), *argv[1:]], cwd=directory,
                      env={**os.environ, **values})
    assert run.returncode == 0, run

    # The same containers, labels and states as `kdeploy setup` leaves.
    expected = {1: {app_container("web"): "web", accessory_container("db"): None},
                2: {app_container("web"): "web"}, 3: {app_container("job"): "job"}}
    for host, names_roles in expected.items():
        found = {c.name: c for c in helpers.containers(info, host)}
        assert set(found) == set(names_roles), (host, sorted(found))
        for name, role in names_roles.items():
            assert found[name].running, name
            if role:
                assert (found[name].labels["service"], found[name].labels["role"],
                        found[name].labels["destination"]) == (SERVICE, role, "")
    env = helpers.ssh(info, 1, f"docker exec {app_container('web')} env").stdout.splitlines()
    assert f"APP_TOKEN={APP_SECRET}" in env

    # kdeploy on top of the exported run: nothing to change.
    before = snapshot(info)
    again = project.kdeploy("setup", "-P", "--version", "v1", "--output", "json")
    assert again.returncode == 0, again
    events = again.events()
    assert events[-1]["type"] == "summary" and events[-1]["exit_code"] == 0
    assert_only_the_lock_changed(events, lock_host=address(info, 1))
    assert snapshot(info) == before
