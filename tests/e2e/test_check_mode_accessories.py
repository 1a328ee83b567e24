"""`--check` of `accessory boot|reboot|remove`, `prune all` and `remove` on the 3-host sandbox.

After a setup and two deploys, the db accessory's config changes (a port, a clear env value and
the value of a secret). Every check must leave every host's containers exactly as they were (ids,
start times, states), take no lock, exit 0 and say what the real command would do; the secret
shows by its name only, and neither its old nor its new value appears anywhere in the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from project import Project, Run, accessory_container, address, example_config, lock_dirs, snapshot

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

OLD_SECRET, NEW_SECRET = "first-pw-7731", "second-pw-9921"
DB = accessory_container("db")
V3 = ("--version", "v3")


def ok(run: Run) -> Run:
    """The run exited 0 without a traceback, and no secret value shows."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    assert OLD_SECRET not in run.output and NEW_SECRET not in run.output, run
    return run


def pending(run: Run) -> dict[str, list[dict[str, Any]]]:
    """The summary's pending changes per host."""
    (summary,) = [event for event in run.events() if event["type"] == "summary"]
    assert summary["check"] is True
    return {host: fields.get("pending", []) for host, fields in summary["hosts"].items()}


def test_accessory_prune_and_remove_checks_change_nothing(live_sandbox: SandboxInfo,
                                                          tmp_path: Path) -> None:
    info = live_sandbox
    config = example_config(info)
    config["accessories"]["db"]["env"] = {"clear": {"DB_NAME": "demo"}, "secret": ["DB_PASSWORD"]}
    project = Project.write(tmp_path, config, {"DB_PASSWORD": OLD_SECRET})
    host1 = address(info, 1)
    ok(project.kdeploy("setup", "-P", "--version", "v1", "-q"))
    for version in ("v2", "v3"):
        ok(project.kdeploy("deploy", "-P", "--version", version, "-q"))

    # The db's config changes: port, clear env, secret value; prune keeps one stopped container.
    db = project.config["accessories"]["db"]
    db["port"] = "5433:5432"
    db["env"]["clear"]["DB_NAME"] = "other"
    project.config["retain_containers"] = 1
    project.save()
    secrets = project.directory / ".kamal" / "secrets"
    secrets.write_text(secrets.read_text().replace(OLD_SECRET, NEW_SECRET))
    before = snapshot(info)

    boot = ok(project.kdeploy("accessory", "boot", "db", *V3, "--check", "--diff",
                              "--output", "json"))
    (change,) = pending(boot)[host1]
    assert (change["kind"], change["name"], change["action"]) == ("accessory", "db", "differs")
    fields = {field["field"]: field for field in change["fields"]}
    assert fields["env.DB_NAME"] == {"field": "env.DB_NAME", "before": "demo", "after": "other"}
    assert fields["env.DB_PASSWORD"] == {"field": "env.DB_PASSWORD", "secret": True}
    assert "published_ports" in fields, fields
    assert snapshot(info) == before

    reboot = ok(project.kdeploy("accessory", "reboot", "db", *V3, "--check", "--diff"))
    assert "accessory db: replace" in reboot.output, reboot
    assert "env.DB_PASSWORD: changed (secret)" in reboot.output, reboot
    assert "env.DB_NAME: demo -> other" in reboot.output, reboot
    assert snapshot(info) == before

    remove = ok(project.kdeploy("accessory", "remove", "db", *V3, "--check", "--output", "json"))
    removed = {(c["kind"], c["name"]) for c in pending(remove)[host1] if c["action"] == "remove"}
    assert ("image", db["image"]) in removed, removed
    assert snapshot(info) == before

    # prune: on each web host the v1 and v2 containers are stopped; retain 1 removes v1's.
    prune = ok(project.kdeploy("prune", "all", *V3, "--check", "--output", "json"))
    for index in (1, 2):
        kinds = [(c["kind"], c["action"]) for c in pending(prune)[address(info, index)]]
        assert ("container", "remove") in kinds, pending(prune)
    assert snapshot(info) == before

    everything = ok(project.kdeploy("remove", *V3, "--check", "--output", "json"))
    for index in (1, 2, 3):
        names = {c["name"] for c in pending(everything)[address(info, index)]}
        assert ".kamal/apps/kdeploy-demo" in names, pending(everything)
    assert ("image", db["image"]) in {(c["kind"], c["name"])
                                      for c in pending(everything)[host1]}
    assert snapshot(info) == before
    assert all(lock_dirs(info, index) == [] for index in (1, 2, 3))
    assert DB in {name for (_, name) in before}

    # The real reboot with --diff reports what it did, the same way: the replaced db with the
    # same fields, the secret by name only.
    real = ok(project.kdeploy("accessory", "reboot", "db", *V3, "--diff", "--output", "json"))
    (summary,) = [event for event in real.events() if event["type"] == "summary"]
    (done,) = [c for c in summary["hosts"][host1]["changes"] if c["kind"] == "accessory"]
    assert (done["name"], done["action"]) == ("db", "replace")
    assert {"field": "env.DB_PASSWORD", "secret": True} in done["fields"]
    assert {"field": "env.DB_NAME", "before": "demo", "after": "other"} in done["fields"]
    assert snapshot(info)[(1, DB)][0] != before[(1, DB)][0]
