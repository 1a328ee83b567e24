"""Two destinations with accessories on the same hosts (Kamal issue #1415), on real hosts.

With `x-kdeploy: {accessories: {name_by_destination: true}}` staging and production each get
their own accessory containers, directories and env files and both run side by side. Without
it the names stay Kamal's, and roles/accessory/tasks/destination_check.yml, run as a
play of its own on the accessory hosts before anything boots, refuses a name that another
destination's container holds there, and touches nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
import yaml
from project import BIN, Project, Run, address, audit_lines, example_config, lock_dirs, snapshot

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox", "leftovers")]

DESTINATIONS = ("staging", "production")
# Published ports per destination, so both can run on one host: db (host 1), cache (host 2).
PORTS = {"staging": (5433, 6380), "production": (5432, 6379)}
OPTION = {"accessories": {"name_by_destination": True}}
VERSION = ("--version", "v1")
# The check play as setup and the locked accessory commands run it (playbooks/
# accessory_destination_check.yml), first, before the lock, on every accessory host. `always`:
# whatever --tags select (`accessory_db`), the tasks check exactly the accessories they select;
# --skip-tags accessory (a role-scoped setup) still skips it.
CHECK_PLAY = """\
- name: Check the accessory names on their hosts
  hosts: accessory_*
  gather_facts: false
  any_errors_fatal: true
  max_fail_percentage: 0
  tags: [always, accessory]
  tasks:
    - name: Refuse an accessory name that another destination's container holds.
      ansible.builtin.import_role:
        name: kdeploy.deploy.accessory
        tasks_from: destination_check
        rolespec_validate: false
"""


def destinations_project(info: SandboxInfo, directory: Path, *, option: bool) -> Project:
    """The example's accessories (db on host 1, cache on host 2), a destination file each."""
    config = example_config(info)
    config["servers"] = {"web": {"hosts": [address(info, 1)], "proxy": False}}
    db = config["accessories"]["db"]
    config["accessories"]["cache"] = {**db, "host": address(info, 2), "port": "6379:5432"}
    if option:
        config["x-kdeploy"] = OPTION
    project = Project.write(directory, config)
    for destination, (db_port, cache_port) in PORTS.items():
        overrides = {"accessories": {"db": {"port": f"{db_port}:5432"},
                                     "cache": {"port": f"{cache_port}:5432"}}}
        (directory / "config" / f"deploy.{destination}.yml").write_text(yaml.safe_dump(overrides))
        # With a destination Kamal reads .kamal/secrets.<destination> (and secrets-common).
        secrets = directory / ".kamal" / "secrets"
        secrets.with_name(f"secrets.{destination}").write_text(secrets.read_text())
    return project


@pytest.fixture
def leftovers(clean_sandbox: SandboxInfo) -> Iterator[None]:
    """The accessory directories clean_sandbox does not know go too (cache, destination names)."""
    yield
    for index in (1, 2):
        helpers.ssh(clean_sandbox, index,
                    f"rm -rf ~/{SERVICE}-db-* ~/{SERVICE}-cache ~/{SERVICE}-cache-*")


def check(project: Project, directory: Path, destination: str, *args: str) -> Run:
    """Export the destination's setup and run the check play with plain ansible-playbook."""
    exported = directory / f"export-{destination}"
    if not exported.exists():
        export = project.kdeploy("export", str(exported), "-d", destination, "-P", *VERSION)
        assert export.returncode == 0, export
        (exported / "project" / "destination_check.yml").write_text(CHECK_PLAY)
    return project.run([str(BIN / "ansible-playbook"), "-i", "../inventory/hosts.yml",
                        "-e", "@../env/extravars", "destination_check.yml", *args],
                       cwd=exported / "project", env={**os.environ, "ANSIBLE_NOCOLOR": "1"})


def boot_all(project: Project, destination: str) -> None:
    run = project.kdeploy("accessory", "boot", "all", "-d", destination, *VERSION)
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run


def greeting(host: str, port: int) -> str:
    """What the fake database answers on a TCP connection."""
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.settimeout(5)
        return conn.recv(256).decode().strip()


def test_with_the_option_both_destinations_run_side_by_side(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = destinations_project(info, tmp_path / "app", option=True)
    for destination in DESTINATIONS:
        boot_all(project, destination)

    for index, name in ((1, "db"), (2, "cache")):
        found = {c.name: c for c in helpers.containers(info, index)}
        assert sorted(found) == sorted(f"{SERVICE}-{name}-{d}" for d in DESTINATIONS), found
        for destination in DESTINATIONS:
            container = found[f"{SERVICE}-{name}-{destination}"]
            assert container.running
            assert container.labels["service"] == f"{SERVICE}-{name}-{destination}"
            assert container.labels["kdeploy.destination"] == destination
            # Its own data directory and its own env file under the destination's app directory.
            helpers.ssh(info, index, f"test -d ~/{SERVICE}-{name}-{destination}/data && test -f "
                                     f"~/.kamal/apps/{SERVICE}-{destination}/env/accessories/"
                                     f"{name}.env")
    for destination, (db_port, cache_port) in PORTS.items():
        assert greeting(address(info, 1), db_port) == "kdeploy-db 1", destination
        assert greeting(address(info, 2), cache_port) == "kdeploy-db 1", destination

    # Booting one destination again changes nothing, and the check lets both through.
    before = snapshot(info)
    boot_all(project, "staging")
    assert snapshot(info) == before
    for destination in DESTINATIONS:
        run = check(project, tmp_path, destination)
        assert run.returncode == 0, run


def test_without_the_option_another_destinations_accessory_is_refused(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = destinations_project(info, tmp_path / "app", option=False)
    boot_all(project, "staging")
    db = helpers.container(info, 1, f"{SERVICE}-db")
    assert db is not None and db.labels["kdeploy.destination"] == "staging", db

    before = snapshot(info)
    refused = check(project, tmp_path, "production")
    assert refused.returncode != 0, refused
    for host, name in ((address(info, 1), "db"), (address(info, 2), "cache")):
        message = (f"Refusing to boot accessory {name} on {host}: its container {SERVICE}-{name} "
                   "there belongs to destination staging, not to this run's destination "
                   "production.")
        assert message in refused.stdout, refused
    assert "name_by_destination: true" in refused.stdout, refused
    assert snapshot(info) == before

    # Its own destination passes, and so does a run whose tags leave the accessories out.
    assert check(project, tmp_path, "staging").returncode == 0
    skipped = check(project, tmp_path, "production", "--skip-tags", "accessory_db,accessory_cache")
    assert skipped.returncode == 0, skipped
    only_db = check(project, tmp_path, "production", "--tags", "accessory_db")
    assert only_db.returncode != 0 and "accessory db" in only_db.stdout, only_db
    assert "accessory cache" not in only_db.stdout, only_db
    # What `accessory reboot db` would pass: the names (comma-separated) and its action.
    reboot = check(project, tmp_path, "production", "-e", "accessory_check_names=db",
                   "-e", "accessory_check_action=reboot")
    assert reboot.returncode != 0, reboot
    assert f"Refusing to reboot accessory db on {address(info, 1)}:" in reboot.stdout, reboot
    assert "accessory cache" not in reboot.stdout, reboot
    assert snapshot(info) == before


def test_a_container_without_the_label_is_not_refused(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    # Kamal labels no destination: its accessory is the one Kamal's names expect to share.
    info = clean_sandbox
    project = destinations_project(info, tmp_path / "app", option=False)
    kamal = project.kamal("accessory", "boot", "db", "-d", "staging", *VERSION)
    assert kamal.returncode == 0, kamal
    db = helpers.container(info, 1, f"{SERVICE}-db")
    assert db is not None and "kdeploy.destination" not in db.labels, db
    run = check(project, tmp_path, "production")
    assert run.returncode == 0, run


@pytest.mark.parametrize("command", [("setup", "-P"), ("accessory", "boot", "all"),
                                     ("accessory", "reboot", "db")])
def test_the_commands_refuse_before_the_lock_and_touch_nothing(
        clean_sandbox: SandboxInfo, tmp_path: Path, command: tuple[str, ...]) -> None:
    # The wired check: `kdeploy setup -d production` and the locked accessory commands stop on
    # staging's containers before the lock, every host as it was.
    info = clean_sandbox
    project = destinations_project(info, tmp_path / "app", option=False)
    boot_all(project, "staging")
    before = snapshot(info)
    audits = [audit_lines(info, index) for index in (1, 2)]

    refused = project.kdeploy(*command, "-d", "production", *VERSION)
    assert refused.returncode == 1, refused
    assert "Traceback" not in refused.output, refused
    action = command[1] if command[0] == "accessory" else "boot"
    assert (f"Refusing to {action} accessory db on {address(info, 1)}: its container "
            f"{SERVICE}-db there belongs to destination staging") in refused.output, refused
    assert snapshot(info) == before
    assert [audit_lines(info, index) for index in (1, 2)] == audits
    assert lock_dirs(info, 1) == [] and lock_dirs(info, 2) == []
