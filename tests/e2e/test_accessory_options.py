"""Accessory `options:` pass straight through to `docker run`, as Kamal's do, on the sandbox.

Any flag docker knows works (no list of supported ones): the options here are ones this dockerd
accepts without special hardware (`gpus` would need GPUs), checked with `docker inspect` on the
host. A re-run changes nothing, a changed option is reported and applied by `accessory reboot`,
and Kamal's own `docker run` of the same config gives the same container.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helpers
import pytest
from project import Project, Run, accessory_container, address, assert_only_the_lock_changed
from project import example_config as base_config

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

V1 = ("--version", "v1")
DB = accessory_container("db")
OPTIONS = {
    "network-alias": ["db.internal", "pg.internal"],
    "shm-size": "256m",
    "ulimit": "nofile=1024:2048",
    "cap-add": "NET_ADMIN",
    "memory": "128m",
    "init": True,
    "restart": "on-failure:3",
}
MIB = 1024 * 1024


def options_project(info: SandboxInfo, tmp_path: Path, options: dict[str, Any]) -> Project:
    config = base_config(info)
    config["accessories"]["db"]["options"] = dict(options)
    return Project.write(tmp_path, config)


def ok(run: Run) -> Run:
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    return run


def inspect(info: SandboxInfo) -> dict[str, Any]:
    (found,) = json.loads(helpers.ssh(info, 1, f"docker inspect {DB}").stdout)
    return found


def applied(found: dict[str, Any]) -> dict[str, Any]:
    """What the options set, as docker reports it."""
    host = found["HostConfig"]
    return {
        "aliases": sorted(set(found["NetworkSettings"]["Networks"]["kamal"]["Aliases"] or [])
                          & {"db.internal", "pg.internal"}),
        "shm": host["ShmSize"] // MIB,
        "ulimits": host["Ulimits"],
        "cap_add": host["CapAdd"],
        "memory": host["Memory"] // MIB,
        "init": host["Init"],
        "restart": host["RestartPolicy"],
    }


EXPECTED = {
    "aliases": ["db.internal", "pg.internal"], "shm": 256,
    "ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "cap_add": ["CAP_NET_ADMIN"],
    "memory": 128, "init": True, "restart": {"Name": "on-failure", "MaximumRetryCount": 3},
}


def test_options_reach_docker_run_and_a_change_waits_for_reboot(
        live_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = live_sandbox
    host1 = address(info, 1)
    project = options_project(info, tmp_path, OPTIONS)
    ok(project.kdeploy("config", "-P", *V1))

    ok(project.kdeploy("accessory", "boot", "db", *V1))
    first = inspect(info)
    assert applied(first) == EXPECTED
    # Kamal's labels, plus kdeploy's spec hash.
    labels = first["Config"]["Labels"]
    assert labels["service"] == DB and labels["kdeploy.spec"], labels

    # A re-run is a no-op: the same container, only the lock changed.
    again = ok(project.kdeploy("accessory", "boot", "db", *V1, "--output", "json"))
    assert_only_the_lock_changed(again.events(), host1)
    assert (inspect(info)["Id"], inspect(info)["State"]["StartedAt"]) == (
        first["Id"], first["State"]["StartedAt"])

    # A changed option is reported by name and left alone, in check mode and for real.
    project.config["accessories"]["db"]["options"]["shm-size"] = "512m"
    project.save()
    plan = ok(project.kdeploy("accessory", "boot", "db", *V1, "--check", "--diff",
                              "--output", "json"))
    assert '"field": "options"' in plan.stdout, plan
    differs = ok(project.kdeploy("accessory", "boot", "db", *V1))
    assert f"Accessory db on {host1} differs from its config in options" in differs.output
    assert inspect(info)["Id"] == first["Id"]

    # reboot applies it; then boot is a no-op again.
    ok(project.kdeploy("accessory", "reboot", "db", *V1))
    rebooted = inspect(info)
    assert rebooted["Id"] != first["Id"]
    assert applied(rebooted) == EXPECTED | {"shm": 512}
    again = ok(project.kdeploy("accessory", "boot", "db", *V1, "--output", "json"))
    assert_only_the_lock_changed(again.events(), host1)


def test_kamal_boots_the_same_container_and_kdeploy_leaves_it_alone(
        live_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = live_sandbox
    host1 = address(info, 1)
    # Kamal 2.11 refuses `restart` (a 2.12 option): its default, unless-stopped, then.
    options = {key: value for key, value in OPTIONS.items() if key != "restart"}
    project = options_project(info, tmp_path, options)
    kamal = project.kamal("accessory", "boot", "db", *V1)
    assert kamal.returncode == 0, kamal
    by_kamal = inspect(info)
    assert applied(by_kamal) == EXPECTED | {
        "restart": {"Name": "unless-stopped", "MaximumRetryCount": 0}}
    assert "kdeploy.spec" not in by_kamal["Config"]["Labels"]

    # Booted without kdeploy's spec label: nothing to compare with, so boot leaves it as it is
    # (Kamal's boot skips an existing container too), and says nothing differs.
    boot = ok(project.kdeploy("accessory", "boot", "db", *V1))
    assert "differs" not in boot.output, boot
    assert inspect(info)["Id"] == by_kamal["Id"]

    # reboot replaces it with kdeploy's: the same options, name and labels, plus the spec label.
    ok(project.kdeploy("accessory", "reboot", "db", *V1))
    by_kdeploy = inspect(info)
    assert by_kdeploy["Id"] != by_kamal["Id"]
    assert applied(by_kdeploy) == applied(by_kamal)
    same = ("Image", "Cmd", "Entrypoint")
    assert {k: by_kdeploy["Config"][k] for k in same} == {k: by_kamal["Config"][k] for k in same}
    kdeploy_labels = {key: value for key, value in by_kdeploy["Config"]["Labels"].items()
                      if not key.startswith("kdeploy.")}
    assert kdeploy_labels == by_kamal["Config"]["Labels"]
    assert sorted(by_kdeploy["Config"]["Env"]) == sorted(by_kamal["Config"]["Env"])
    for key in ("PortBindings", "LogConfig", "Binds", "NetworkMode"):
        assert by_kdeploy["HostConfig"][key] == by_kamal["HostConfig"][key], key

    # And Kamal sees kdeploy's container as its own: its boot skips the host.
    skip = project.kamal("accessory", "boot", "db", *V1)
    assert skip.returncode == 0, skip
    assert f"Skipping booting `db` on {host1}, a container already exists" in skip.output
