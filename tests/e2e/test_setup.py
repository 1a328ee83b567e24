"""`kdeploy setup` on real sandbox hosts: the founding case, convergence, secrets.

Each test runs the real CLI in a project dir under tmp_path and reads the hosts over SSH.
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
    app_container,
    assert_only_the_lock_changed,
    audit_lines,
    example_config,
    file_mode,
    founding_config,
    snapshot,
)

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SETUP = ("setup", "-P", "--version", "v1")
ENV_DIR = f"~/.kamal/apps/{SERVICE}/env"


def assert_ok(run: Run) -> None:
    """The run succeeded and printed no traceback."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run


def test_setup_of_a_new_role_leaves_the_accessory_and_other_roles_alone(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, founding_config(info))
    assert_ok(project.kdeploy(*SETUP))
    before = snapshot(info)
    assert set(before) == {(1, app_container("web")), (1, accessory_container("db"))}

    # The founding case: a new role on a new host, set up on its own.
    project.config["servers"]["web_new"] = {"hosts": [address(info, 2)], "proxy": False}
    project.save()
    assert_ok(project.kdeploy(*SETUP, "-r", "web_new"))
    after = snapshot(info)
    web_new = helpers.container(info, 2, app_container("web_new"))
    assert web_new is not None and web_new.running
    # Kamal's bare `--label destination` shows up as an empty value in docker inspect.
    assert {key: web_new.labels.get(key) for key in ("service", "role", "destination")} == {
        "service": SERVICE, "role": "web_new", "destination": ""}
    # web and db on host 1: same ids, same start times. Host 2 got the app and nothing else.
    assert {key: value for key, value in after.items() if key[0] == 1} == before
    assert {name for host, name in after if host != 1} == {app_container("web_new")}

    # A role whose host carries the accessory: the notice names it and says how to boot it.
    web = project.kdeploy(*SETUP, "-r", "web")
    assert_ok(web)
    notice = next(line for line in web.output.splitlines() if "Accessory db" in line)
    assert "not booted" in notice and "--with-accessories" in notice, web
    assert address(info, 1) in notice
    # ... and booting it on top leaves the running db as it is.
    assert_ok(project.kdeploy(*SETUP, "-r", "web", "--with-accessories"))
    assert snapshot(info) == after


def test_setup_again_converges(clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    assert_ok(project.kdeploy(*SETUP))
    before = snapshot(info)
    assert {(host, name) for host, name in before} == {
        (1, app_container("web")), (1, accessory_container("db")),
        (2, app_container("web")), (3, app_container("job"))}

    again = project.kdeploy(*SETUP, "--output", "json")
    assert_ok(again)
    events = again.events()  # every line is JSON
    summary = events[-1]
    assert (summary["type"], summary["exit_code"], summary["status"]) == (
        "summary", 0, "successful")
    results = [event for event in events if event["type"] == "host_result"]
    assert {event["host"] for event in results if event["status"] in ("ok", "changed")} == {
        address(info, host) for host in (1, 2, 3)}
    assert not [event for event in results if event["status"] in ("failed", "unreachable")]
    # No host is sent a task it would only skip (a role ends for the usual host instead): on
    # host 1 the accessory's files step alone (this config has no files), no other anywhere.
    assert [(event["host"], event["task"]) for event in results if event["status"] == "skipped"] \
        == [(address(info, 1), "Upload the accessory's files.")]
    # Only taking and releasing the lock changes anything: no accessory or app task does.
    assert_only_the_lock_changed(events, lock_host=address(info, 1))
    assert snapshot(info) == before

    # Kamal's audit log: one boot line per container, none added by the second run.
    booted = {1: {(None, "Booted db accessory"), ("web", "Booted app version v1")},
              2: {("web", "Booted app version v1")}, 3: {("job", "Booted app version v1")}}
    for host, expected in booted.items():
        lines = audit_lines(info, host)
        matches = [AUDIT_LINE.match(line) for line in lines]
        assert all(matches), lines
        boots = [(m["role"], m["message"]) for m in matches if m and "Booted" in m["message"]]
        assert sorted(boots, key=str) == sorted(expected, key=str), lines
    # Env files hold secrets: owner-only, where Kamal keeps them.
    for host, path in ((1, "roles/web.env"), (2, "roles/web.env"), (3, "roles/job.env"),
                       (1, "accessories/db.env")):
        assert file_mode(info, host, f"{ENV_DIR}/{path}") == "600", (host, path)


APP_SECRET = "kd-app-s3cret-4f9a1c0e"
DB_SECRET = "kd-db-s3cret-77e2b5d1"


def test_secrets_reach_the_containers_but_never_the_output(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    info = clean_sandbox
    config = founding_config(info)
    config["env"] = {"clear": {"MODE": "e2e"}, "secret": ["DB_PASSWORD"]}
    config["accessories"]["db"]["env"] = {"secret": ["DB_ROOT_PASSWORD"]}
    project = Project.write(tmp_path / "app", config,
                            {"DB_PASSWORD": APP_SECRET, "DB_ROOT_PASSWORD": DB_SECRET})

    human = project.kdeploy(*SETUP, "-v")
    assert_ok(human)
    for name, variable, value, env_file in (
            (app_container("web"), "DB_PASSWORD", APP_SECRET, "roles/web.env"),
            (accessory_container("db"), "DB_ROOT_PASSWORD", DB_SECRET, "accessories/db.env")):
        env = helpers.ssh(info, 1, f"docker exec {name} env").stdout.splitlines()
        assert f"{variable}={value}" in env, (name, env)
        assert value in helpers.ssh(info, 1, f"cat {ENV_DIR}/{env_file}").stdout
    assert "MODE=e2e" in helpers.ssh(info, 1, f"docker exec {app_container('web')} env").stdout

    as_json = project.kdeploy(*SETUP, "--output", "json")
    assert_ok(as_json)
    exported = tmp_path / "exported"
    export = project.kdeploy("export", str(exported), "-P", "--version", "v1")
    assert_ok(export)
    assert "KDEPLOY_SECRET_DB_PASSWORD" in export.stdout  # named, so the user can export it
    files = [path for path in exported.rglob("*") if path.is_file()]
    assert files
    for secret in (APP_SECRET, DB_SECRET):
        for run in (human, as_json, export):
            assert secret not in run.output, run.args
        assert not [path for path in files if secret.encode() in path.read_bytes()]
