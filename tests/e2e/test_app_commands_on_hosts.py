"""`kdeploy app …`, `kdeploy remove` and `kdeploy details` on real hosts, next to the real Kamal.

The example is deployed with `kdeploy setup -P` first (web on hosts 1-2, job on host 3, db on
host 1). Read-only commands must show what docker shows there; the others must leave the hosts
as Kamal's commands do (containers, images, directories, audit lines, the lock).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import helpers
import pytest
from project import (
    AUDIT_LINE,
    Project,
    Run,
    address,
    app_container,
    audit_lines,
    example_config,
    lock_dirs,
    running_names,
)

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

# Kamal takes the version from git; these projects are not repositories.
V1 = ("--version", "v1")


def assert_ok(run: Run) -> Run:
    """The run exited 0 without a traceback."""
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    return run


def report(run: Run) -> dict:
    """The `report` object of an `--output json` run."""
    (event,) = [event for event in run.events() if event["type"] == "report"]
    return event


def deployed(info: SandboxInfo, tmp_path: Path, version: str = "v1") -> Project:
    project = Project.write(tmp_path, example_config(info))
    assert_ok(project.kdeploy("setup", "-P", "--version", version, "-q"))
    return project


def messages(info: SandboxInfo, index: int) -> list[tuple[str | None, str]]:
    """(role tag, message) of each audit line on host `index`."""
    found = [AUDIT_LINE.match(line) for line in audit_lines(info, index)]
    return [(match["role"], match["message"]) for match in found if match]


def test_read_only_commands_show_what_docker_shows(clean_sandbox: SandboxInfo,
                                                   tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    hosts = [address(clean_sandbox, index) for index in (1, 2, 3)]

    # JSON: docker's own fields per container, not its table.
    details = report(assert_ok(project.kdeploy("app", "details", "--output", "json")))
    assert details["report"] == "app details"
    assert [(item["host"], item["role"]) for item in details["items"]] == [
        (hosts[0], "web"), (hosts[1], "web"), (hosts[2], "job")]
    for item, role in zip(details["items"], ("web", "web", "job"), strict=True):
        (container,) = item["containers"]
        assert (container["name"], container["state"]) == (app_container(role), "running")
        assert container["image"].endswith("/kdeploy-demo:v1"), container
    assert "CONTAINER ID" not in json.dumps(details)
    human = assert_ok(project.kdeploy("app", "details", "-h", hosts[0]))
    assert "CONTAINER ID" in human.stdout  # people still get Kamal's table

    # Kamal prints the same versions (in completion order, so compared as a multiset).
    version = assert_ok(project.kdeploy("app", "version", "-q"))
    assert version.stdout == "v1\n\nv1\n\nv1\n"
    kamal = assert_ok(project.kamal("app", "version", "-q", *V1))
    assert sorted(kamal.stdout.split()) == sorted(version.stdout.split())

    containers = assert_ok(project.kdeploy("app", "containers", "-r", "job"))
    assert f"App Host: {hosts[2]}" in containers.stdout.splitlines()
    assert app_container("job") in containers.stdout
    assert app_container("web") not in containers.stdout
    images = report(assert_ok(project.kdeploy("app", "images", "-h", hosts[1], "--output",
                                              "json")))
    (listing,) = images["items"]
    assert listing["host"] == hosts[1]
    assert ("kdeploy-demo", "v1") in [(image["repository"].rsplit("/", 1)[-1], image["tag"])
                                      for image in listing["images"]], listing
    job_containers = report(assert_ok(project.kdeploy("app", "containers", "-r", "job",
                                                      "--output", "json")))
    assert [[container["name"] for container in item["containers"]]
            for item in job_containers["items"]] == [[app_container("job")]]
    everything_json = report(assert_ok(project.kdeploy("details", "-h", hosts[0],
                                                       "--output", "json")))
    assert [(item.get("role"), item.get("accessory"), len(item["containers"]))
            for item in everything_json["items"]] == [("web", None, 1), (None, "db", 1)]
    db = report(assert_ok(project.kdeploy("accessory", "details", "db", "--output", "json")))
    assert [(item["host"], item["accessory"], [c["name"] for c in item["containers"]])
            for item in db["items"]] == [(hosts[0], "db", ["kdeploy-demo-db"])]

    everything = assert_ok(project.kdeploy("details", "-q"))
    assert "kdeploy-demo-db" in everything.stdout
    assert everything.stdout.count("CONTAINER ID") == 4  # 3 app hosts + the db accessory
    headed = assert_ok(project.kdeploy("details", "-h", hosts[0]))
    assert f"Accessory db Host: {hosts[0]}" in headed.stdout.splitlines()
    assert f"App Host: {hosts[1]}" not in headed.stdout

    logs = assert_ok(project.kdeploy("app", "logs", "-g", "no such line", "-q"))
    assert logs.stdout == "Nothing found\n\nNothing found\n\nNothing found\n"
    logs_json = report(assert_ok(project.kdeploy("app", "logs", "-r", "web", "-n", "5",
                                                 "--output", "json")))
    assert [(r["host"], r["role"], r["found"]) for r in logs_json["items"]] == [
        (hosts[0], "web", True), (hosts[1], "web", True)]
    # Reading takes no lock and changes nothing.
    assert lock_dirs(clean_sandbox, 1) == []


def test_exec_runs_in_new_and_in_running_containers(clean_sandbox: SandboxInfo,
                                                    tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    new = report(assert_ok(project.kdeploy("app", "exec", "--version", "v1", "--output", "json",
                                           "echo", "from", "a", "new", "container")))
    assert [(r["role"], r["rc"], r["output"]) for r in new["items"]] == [
        ("web", 0, "from a new container")] * 2 + [("job", 0, "from a new container")]
    # --rm: nothing left behind; Kamal's audit line without a role tag.
    for index in (1, 2, 3):
        assert not [name for name in running_names(clean_sandbox, index) if "-exec-" in name]
        assert (None, "Executed cmd 'echo from a new container' on app version v1") in \
            messages(clean_sandbox, index)

    reuse = assert_ok(project.kdeploy("app", "exec", "--reuse", "-r", "job", "-q", "hostname"))
    job = helpers.container(clean_sandbox, 3, app_container("job"))
    assert job is not None
    hostname = helpers.ssh(clean_sandbox, 3, f"docker inspect -f '{{{{.Config.Hostname}}}}' "
                                             f"{job.id}").stdout.strip()
    assert reuse.stdout.strip() == hostname
    assert ("job", "Executed cmd 'hostname' on app version v1") in messages(clean_sandbox, 3)

    detached = assert_ok(project.kdeploy("app", "exec", "--detach", "-r", "job", "--version",
                                         "v1", "-q", "sleep", "30"))
    names = [c.name for c in helpers.containers(clean_sandbox, 3) if "-exec-" in c.name]
    assert len(names) == 1 and re.fullmatch(r"kdeploy-demo-job-exec-v1-[0-9a-f]{6}", names[0])
    assert detached.stdout.strip() == helpers.container(clean_sandbox, 3, names[0]).id

    # Quoted as one word, like with Kamal: a bare `-c` would be the config file option.
    failed = project.kdeploy("app", "exec", "-r", "job", "--version", "v1",
                             "sh -c 'echo broken; exit 3'")
    assert failed.returncode == 1, failed
    assert "broken" in failed.stdout, failed
    assert "The command exited with 3" in failed.output, failed


def test_interactive_exec_and_follow_run_over_ssh(clean_sandbox: SandboxInfo,
                                                  tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    # Kamal runs the system ssh with the config's user, port and keys; this machine's user has
    # no known_hosts entries for a rebuilt sandbox, so the runs get a HOME that accepts them.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        "StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\nLogLevel ERROR\n")
    env = {**os.environ, "HOME": str(home)}
    kdeploy = [sys.executable, "-m", "kdeploy"]
    interactive = project.run([*kdeploy, "app", "exec", "-i", "-r", "job", "--version", "v1",
                               "echo", "interactive"], env=env, timeout=120)
    assert interactive.returncode == 0, interactive
    assert "interactive" in interactive.stdout.splitlines(), interactive
    assert (f"Launching interactive command with version v1 via SSH from new container on "
            f"{address(clean_sandbox, 3)}...") in interactive.stdout, interactive

    # --follow on an exited container ends when its log does: a detached exec container on the
    # primary host that echoes one line.
    detached = assert_ok(project.kdeploy("app", "exec", "--detach", "-p", "--version", "v1",
                                         "-q", "echo", "followed"))
    container_id = detached.stdout.strip()
    follow = project.run([*kdeploy, "app", "logs", "-f", "--container-id", container_id],
                         env=env, timeout=120)
    assert follow.returncode == 0, follow
    assert f"Following logs on {address(clean_sandbox, 1)}..." in follow.stdout, follow
    assert re.search(r"^\S+Z followed$", follow.stdout, re.M), follow


def test_stop_start_and_stale_containers_like_kamal(clean_sandbox: SandboxInfo,
                                                    tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    assert_ok(project.kdeploy("setup", "-P", "--version", "v2", "-q"))
    # An old version running beside the current one on host 1: a stale container.
    helpers.ssh(clean_sandbox, 1, f"docker start {app_container('web', 'v1')}")

    stale = assert_ok(project.kdeploy("app", "stale_containers", "-q"))
    assert stale.stdout == ("Detected stale container for role web with version v1 (use "
                            "`kdeploy app stale_containers --stop` to stop)\n")
    kamal = assert_ok(project.kamal("app", "stale_containers", "-q", *V1))
    assert "Detected stale container for role web with version v1" in kamal.stdout
    assert_ok(project.kdeploy("app", "stale_containers", "--stop", "--version", "v2", "-q"))
    assert running_names(clean_sandbox, 1) >= {app_container("web", "v2")}
    assert app_container("web", "v1") not in running_names(clean_sandbox, 1)

    # Somebody holds the deploy lock: stop refuses (exit 3) and touches nothing.
    assert_ok(project.kamal("lock", "acquire", "-m", "hands off", *V1))
    held = project.kdeploy("app", "stop", "-r", "web", "--version", "v2")
    assert held.returncode == 3, held
    assert "Deploy lock already in place!" in held.output, held
    assert app_container("web", "v2") in running_names(clean_sandbox, 2)
    assert_ok(project.kdeploy("lock", "release", "-q"))

    assert_ok(project.kdeploy("app", "stop", "-r", "web", "--version", "v2", "-q"))
    for index in (1, 2):
        assert not {name for name in running_names(clean_sandbox, index) if "-web-" in name}
        assert ("web", "Stopped app") in messages(clean_sandbox, index)
    assert app_container("job", "v2") in running_names(clean_sandbox, 3)
    assert lock_dirs(clean_sandbox, 1) == []
    assert assert_ok(project.kdeploy("app", "version", "-r", "web", "-q")).stdout.strip() == ""

    assert_ok(project.kdeploy("app", "start", "-r", "web", "--version", "v2", "-q"))
    for index in (1, 2):
        assert app_container("web", "v2") in running_names(clean_sandbox, index)
        assert (None, "Started app version v2") in messages(clean_sandbox, index)


def test_app_remove_of_one_role_keeps_the_others(clean_sandbox: SandboxInfo,
                                                 tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    assert_ok(project.kdeploy("app", "remove", "-r", "job", "--version", "v1", "-q"))
    job_host = host_state(clean_sandbox, 3)
    assert job_host["containers"] == [] and job_host["apps"] == []
    assert not [image for image in job_host["images"] if "kdeploy-demo:" in image]
    web_host = host_state(clean_sandbox, 1)
    assert app_container("web") in web_host["containers"]
    assert web_host["apps"] == [".kamal/apps/kdeploy-demo", "kdeploy-demo-db"]
    assert ("job", "Removed all app containers") in messages(clean_sandbox, 3)


def host_state(info: SandboxInfo, index: int) -> dict[str, list[str]]:
    """What `remove` is about on a host: containers, images, app/accessory dirs, locks, logins."""
    script = ("docker ps -a --format '{{.Names}}' | sort; echo ---; "
              "docker image ls --format '{{.Repository}}:{{.Tag}}' | sort; echo ---; "
              "ls -d .kamal/apps/* kdeploy-demo-db 2>/dev/null; echo ---; "
              "ls -d .kamal/lock-* 2>/dev/null; echo ---; "
              "cat .docker/config.json 2>/dev/null || echo '{}'")
    parts = helpers.ssh(info, index, script).stdout.split("---\n")
    auths = json.loads(parts[4] or "{}").get("auths", {})
    return {"containers": parts[0].split(), "images": parts[1].split(),
            "apps": parts[2].split(), "locks": parts[3].split(), "logins": sorted(auths)}


def test_remove_leaves_the_hosts_as_kamals_remove_does(clean_sandbox: SandboxInfo,
                                                       tmp_path: Path) -> None:
    project = deployed(clean_sandbox, tmp_path)
    refused = project.kdeploy("remove", "--version", "v1")  # no terminal to ask on, no -y
    assert refused.returncode == 2, refused
    assert "pass -y" in refused.output, refused
    assert app_container("web") in running_names(clean_sandbox, 1)

    assert_ok(project.kdeploy("remove", "-y", "--version", "v1", "-q"))
    kept = [host_state(clean_sandbox, index) for index in (1, 2, 3)]
    assert all(state["containers"] == [] and state["locks"] == [] and state["logins"] == []
               for state in kept), kept
    # Unlike Kamal, the db accessory's data directory stays (docs/accessories.md).
    assert [state["apps"] for state in kept] == [["kdeploy-demo-db"], [], []], kept
    # The accessory's image is gone (an image an earlier test pulled by hand may stay, as in Kamal).
    db_image = clean_sandbox.registry + "/kdeploy-db:1"
    assert db_image not in kept[0]["images"], kept[0]
    assert (None, "Removed db accessory image") in messages(clean_sandbox, 1)

    # Nothing runs any more: exec --reuse has no container (and no version) to use.
    reuse = project.kdeploy("app", "exec", "--reuse", "hostname")
    assert reuse.returncode == 1, reuse
    assert f"No app container runs on {address(clean_sandbox, 1)} to reuse" in reuse.output

    # With --purge, kdeploy leaves the hosts exactly as `kamal remove` does.
    assert_ok(project.kdeploy("setup", "-P", "--version", "v1", "-q"))
    assert_ok(project.kdeploy("remove", "-y", "--purge", "--version", "v1", "-q"))
    ours = [host_state(clean_sandbox, index) for index in (1, 2, 3)]
    assert all(state["apps"] == [] for state in ours), ours

    assert_ok(project.kdeploy("setup", "-P", "--version", "v1", "-q"))
    assert_ok(project.kamal("remove", "-y", *V1))
    theirs = [host_state(clean_sandbox, index) for index in (1, 2, 3)]
    assert ours == theirs
