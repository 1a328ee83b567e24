"""`kdeploy accessory …` on the 3-host sandbox: the lifecycle, convergence and data safety.

The example's db accessory (host 1) gets what real databases have: a data directory, a named
volume, a health check, an env secret, an ERB-rendered config file and a plain one. A marker
file written into the directory and the volume must be read back after every command that
replaces or stops the container, and after `remove` without `--purge`.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest
from project import (
    AUDIT_LINE,
    Project,
    Run,
    accessory_container,
    address,
    assert_only_the_lock_changed,
    audit_lines,
    example_config,
    file_mode,
    lock_dirs,
)

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

V1 = ("--version", "v1")
DB = accessory_container("db")
VOLUME = "kdeploy-demo-dbvol"
DATA_DIR = "/root/kdeploy-demo-db/data"
MARKERS = "cat /data/marker /vol/marker"


def db_project(info: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(info)
    db = config["accessories"]["db"]
    db["volumes"] = [f"{VOLUME}:/vol"]
    db["env"] = {"clear": {"DB_NAME": "demo"}, "secret": ["DB_PASSWORD"]}
    db["files"] = [{"local": "config/db.conf.erb", "remote": "/etc/db.conf", "mode": "0640"},
                   "config/plain.txt:/etc/plain.txt"]
    # The db's boot script writes /data/boots first: healthy once it has started.
    db["options"] = {"health-cmd": "cat /data/boots", "health-interval": "1s"}
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "db.conf.erb").write_text(
        'name=<%= ENV["DB_NAME"] %>\npassword=<%= ENV["DB_PASSWORD"] %>\n')
    (tmp_path / "config" / "plain.txt").write_text("plain <%= left as is %>\n")
    return Project.write(tmp_path, config, {"DB_PASSWORD": "s3cret-pw"})


def ok(run: Run) -> Run:
    """The run exited 0 without a traceback."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    return run


def db_state(info: SandboxInfo) -> helpers.Container:
    container = helpers.container(info, 1, DB)
    assert container is not None, "no db container on host 1"
    return container


def health(info: SandboxInfo) -> str:
    command = f"docker inspect -f '{{{{.State.Health.Status}}}}' {DB}"
    return helpers.ssh(info, 1, command).stdout.strip()


def write_markers(info: SandboxInfo) -> None:
    helpers.ssh(info, 1, f"docker exec {DB} sh -c 'echo dir-data > /data/marker; "
                         "echo volume-data > /vol/marker'")


def assert_markers(project: Project) -> None:
    """The data survived: read back from a new container of the accessory (same mounts)."""
    run = ok(project.kdeploy("accessory", "exec", "db", MARKERS, *V1))
    assert "dir-data\nvolume-data" in run.output, run


def messages(info: SandboxInfo) -> list[str]:
    return [match["message"] for line in audit_lines(info, 1)
            if (match := AUDIT_LINE.match(line))]


def test_accessory_lifecycle_keeps_the_data(live_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = live_sandbox
    project = db_project(info, tmp_path)
    host1 = address(info, 1)

    # setup boots the db (healthy) before the apps; a second setup changes nothing.
    ok(project.kdeploy("setup", "-P", *V1, "-q"))
    first = db_state(info)
    assert first.running and health(info) == "healthy"
    out = helpers.ssh(info, 1, "cat ~/kdeploy-demo-db/etc/db.conf ~/kdeploy-demo-db/etc/plain.txt")
    assert out.stdout == "name=demo\npassword=s3cret-pw\nplain <%= left as is %>\n"
    assert file_mode(info, 1, "~/kdeploy-demo-db/etc/db.conf") == "640"
    assert file_mode(info, 1, "~/kdeploy-demo-db/etc/plain.txt") == "755"
    write_markers(info)
    again = ok(project.kdeploy("setup", "-P", *V1, "--output", "json"))
    assert_only_the_lock_changed(again.events(), host1)
    # The secret never shows, not even from the rendered file.
    assert "s3cret-pw" not in again.output

    # boot all twice: no change, no error, same container (id and start time).
    for _ in range(2):
        run = ok(project.kdeploy("accessory", "boot", "all", *V1))
        assert f"Skipping booting `db` on {host1}, it is already running" in run.output
    assert (db_state(info).id, db_state(info).started_at) == (first.id, first.started_at)

    # details and exec (new container and reuse) read what docker shows there.
    details = ok(project.kdeploy("accessory", "details", "db", *V1))
    assert f"Accessory db Host: {host1}" in details.output and DB in details.output
    assert_markers(project)
    reuse = ok(project.kdeploy("accessory", "exec", "--reuse", "db", "cat /etc/db.conf", *V1))
    assert f"App Host: {host1}\nname=demo" in reuse.output
    logs = ok(project.kdeploy("accessory", "logs", "db", "-n", "5", *V1))
    assert "Traceback" not in logs.output

    # A changed config is reported per host and option, and not applied by boot.
    project.config["accessories"]["db"]["image"] = project.config["accessories"]["db"][
        "image"].replace("kdeploy-db:1", "kdeploy-db:2")
    project.save()
    differs = ok(project.kdeploy("accessory", "boot", "db", *V1))
    assert f"Accessory db on {host1} differs from its config in image" in differs.output
    assert db_state(info).id == first.id

    # reboot applies it: pull first, then stop, remove and boot; the data is still there.
    before = len(messages(info))
    ok(project.kdeploy("accessory", "reboot", "db", *V1))
    rebooted = db_state(info)
    assert rebooted.id != first.id and rebooted.image.endswith("kdeploy-db:2")
    assert rebooted.running and health(info) == "healthy"
    assert messages(info)[before:] == [
        "Pull db accessory image", "Stopped db accessory", "Remove db accessory container",
        "Booted db accessory"]
    assert_markers(project)

    # stop / start / restart keep the container and the data.
    ok(project.kdeploy("accessory", "stop", "db", *V1))
    assert not db_state(info).running
    ok(project.kdeploy("accessory", "start", "db", *V1))
    assert db_state(info).running and db_state(info).id == rebooted.id
    restarted_from = db_state(info).started_at
    ok(project.kdeploy("accessory", "restart", "db", *V1))
    assert db_state(info).running and db_state(info).started_at != restarted_from
    assert_markers(project)

    # upgrade (Kamal 1 -> 2: a reboot into the kamal network), one host at a time.
    ok(project.kdeploy("accessory", "upgrade", "db", "-y", "--rolling", *V1))
    upgraded = db_state(info)
    assert upgraded.id != rebooted.id and upgraded.running
    assert_markers(project)
    assert lock_dirs(info, 1) == []


def test_remove_keeps_the_data_unless_purged(live_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = live_sandbox
    project = db_project(info, tmp_path)
    host1 = address(info, 1)
    ok(project.kdeploy("accessory", "boot", "db", *V1))
    write_markers(info)

    # remove -y: container and image go; directory and volume stay, and the message says where.
    removed = ok(project.kdeploy("accessory", "remove", "db", "-y", *V1))
    assert helpers.container(info, 1, DB) is None
    assert (f"Removed accessory db on {host1}; kept its data: {DATA_DIR}, volume {VOLUME} "
            "(delete it with --purge)") in removed.output
    images = helpers.ssh(info, 1, "docker image ls --format '{{.Repository}}:{{.Tag}}'").stdout
    assert "kdeploy-db:1" not in images
    assert helpers.ssh(info, 1, "cat ~/kdeploy-demo-db/etc/db.conf", check=False).returncode != 0
    # The next boot finds the data again.
    ok(project.kdeploy("accessory", "boot", "db", *V1))
    assert_markers(project)

    # kdeploy remove -y keeps it too.
    ok(project.kdeploy("remove", "-y", *V1))
    assert helpers.container(info, 1, DB) is None
    assert helpers.ssh(info, 1, f"cat {DATA_DIR}/marker").stdout == "dir-data\n"
    assert helpers.ssh(info, 1, f"docker volume inspect {VOLUME}", check=False).returncode == 0

    # --purge deletes both.
    ok(project.kdeploy("accessory", "boot", "db", *V1))
    purged = ok(project.kdeploy("accessory", "remove", "db", "-y", "--purge", *V1))
    assert f"Removed accessory db on {host1} with its data" in purged.output
    assert helpers.ssh(info, 1, "ls ~/kdeploy-demo-db", check=False).returncode != 0
    assert helpers.ssh(info, 1, f"docker volume inspect {VOLUME}", check=False).returncode != 0


def test_unhappy_paths(live_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = live_sandbox
    project = db_project(info, tmp_path)

    unknown = project.kdeploy("accessory", "boot", "postgres", *V1)
    assert unknown.returncode == 2, unknown
    assert "No accessory by the name of 'postgres' (options: db)" in unknown.output

    # -r job: the db lives on a web host only, so nothing is booted (as in Kamal).
    filtered = ok(project.kdeploy("accessory", "boot", "db", "-r", "job", *V1))
    assert "nothing to boot" in filtered.output
    assert helpers.container(info, 1, DB) is None

    # remove without -y and without a terminal refuses.
    refused = project.kdeploy("accessory", "remove", "db", *V1)
    assert refused.returncode == 2 and "needs -y" in refused.output, refused

    # A held lock (kdeploy's or Kamal's) stops a mutating command before it touches anything.
    ok(project.kdeploy("lock", "acquire", "-m", "busy", *V1))
    held = project.kdeploy("accessory", "boot", "db", *V1)
    assert held.returncode == 3 and "Deploy lock already in place" in held.output, held
    assert helpers.container(info, 1, DB) is None
    ok(project.kdeploy("lock", "release", *V1))

    # An accessory that never becomes healthy fails the boot with its health and log tail.
    project.config["deploy_timeout"] = 3
    project.config["accessories"]["db"]["options"]["health-cmd"] = "false"
    project.save()
    unhealthy = project.kdeploy("accessory", "boot", "db", *V1)
    assert unhealthy.returncode == 1, unhealthy
    assert "did not become healthy within the deploy timeout of 3 seconds" in unhealthy.output
    assert lock_dirs(info, 1) == []
