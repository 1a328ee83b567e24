"""`kdeploy lock acquire|release|status` and `kdeploy audit` on real hosts, next to the real Kamal.

The lock is one directory on the filtered primary host, so a lock taken by either tool is seen
and released by the other; the audit log is the file both tools append to.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import helpers
import pytest
from project import Project, Run, address, audit_lines, example_config, lock_dirs

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

LOCK_DIR = "/root/.kamal/lock-kdeploy-demo"
NO_LOCK = "There is no deploy lock"
LOCKED_BY = re.compile(r"^Locked by: .+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# Kamal takes the version from git; these projects are not repositories.
KAMAL_VERSION = ("--version", "v1")


def assert_ok(run: Run, *lines: str) -> None:
    """The run exited 0, printed each of `lines` as a line, and no traceback."""
    assert run.returncode == 0, run
    for line in lines:
        assert line in run.stdout.splitlines(), run
    assert "Traceback" not in run.output, run


def report(run: Run) -> dict:
    """The `report` object of an `--output json` run."""
    (event,) = [event for event in run.events() if event["type"] == "report"]
    return event


def test_acquire_status_release_round_trip(clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kdeploy("lock", "status", "-q"), NO_LOCK)

    assert_ok(project.kdeploy("lock", "acquire", "-m", "fixing the db", "--version", "v1"),
              "Acquired the deploy lock")
    assert lock_dirs(clean_sandbox, 1) == [LOCK_DIR]
    status = project.kdeploy("lock", "status", "-q")
    assert_ok(status, "Version: v1", "Message: fixing the db")
    assert LOCKED_BY.match(status.stdout.splitlines()[0]), status

    again = project.kdeploy("lock", "acquire", "-m", "second", "--version", "v2")
    assert again.returncode == 3, again
    assert "Deploy lock already in place!" in again.output, again
    assert "Message: fixing the db" in again.output, again

    assert_ok(project.kdeploy("lock", "release"), "Released the deploy lock")
    assert lock_dirs(clean_sandbox, 1) == []
    assert_ok(project.kdeploy("lock", "status", "-q"), NO_LOCK)


def test_role_filter_moves_the_lock_to_that_roles_primary_host(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    # Kamal: -r job locks the job role's host, so web and job deploys do not block each other.
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kdeploy("lock", "acquire", "-m", "jobs only", "-r", "job",
                                    "--version", "v1"),
              "Acquired the deploy lock")
    assert (lock_dirs(clean_sandbox, 1), lock_dirs(clean_sandbox, 3)) == ([], [LOCK_DIR])
    assert "Message: jobs only" in project.kamal("lock", "status", "-r", "job",
                                                 *KAMAL_VERSION).stdout
    assert_ok(project.kdeploy("lock", "status", "-q"), NO_LOCK)
    status = project.kdeploy("lock", "status", "-r", "job", "--output", "json")
    (item,) = report(status)["items"]
    assert (item["host"], item["locked"]) == (address(clean_sandbox, 3), True)
    assert (item["holder"]["message"], item["holder"]["automatic"]) == ("jobs only", False)
    assert "Message: jobs only" in report(status)["text"]
    assert_ok(project.kdeploy("lock", "release", "-r", "job"), "Released the deploy lock")
    assert lock_dirs(clean_sandbox, 3) == []


def test_lock_held_by_kamal_is_seen_and_released_by_kdeploy(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kamal("lock", "acquire", "-m", "held by kamal", *KAMAL_VERSION),
              "Acquired the deploy lock")

    held = project.kdeploy("lock", "acquire", "-m", "mine", "--version", "v2")
    assert held.returncode == 3, held
    assert "Deploy lock already in place!" in held.output, held
    assert "Message: held by kamal" in held.output, held
    assert "Traceback" not in held.output, held
    assert_ok(project.kdeploy("lock", "status", "-q"), "Version: v1", "Message: held by kamal")

    assert_ok(project.kdeploy("lock", "release", "-q"), "Released the deploy lock")
    assert lock_dirs(clean_sandbox, 1) == []
    assert_ok(project.kamal("lock", "status", *KAMAL_VERSION), NO_LOCK)


def test_lock_held_by_kdeploy_is_seen_and_released_by_kamal(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kdeploy("lock", "acquire", "-m", "held by kdeploy", "--version", "v7"),
              "Acquired the deploy lock")

    status = project.kamal("lock", "status", *KAMAL_VERSION)
    assert_ok(status, "Version: v7", "Message: held by kdeploy")
    assert status.stdout.startswith("Locked by: "), status
    # Kamal decodes exactly what `kdeploy lock status` prints.
    assert status.stdout.strip() == project.kdeploy("lock", "status", "-q").stdout.strip()
    taken = project.kamal("lock", "acquire", "-m", "kamal wants it", *KAMAL_VERSION)
    assert taken.returncode != 0, taken
    assert "Deploy lock already in place!" in taken.output, taken
    assert "Message: held by kdeploy" in taken.output, taken

    assert_ok(project.kamal("lock", "release", *KAMAL_VERSION), "Released the deploy lock")
    assert lock_dirs(clean_sandbox, 1) == []
    assert_ok(project.kdeploy("lock", "status", "-q"), NO_LOCK)


def test_release_without_a_lock_says_so_like_kamal(clean_sandbox: SandboxInfo,
                                                   tmp_path: Path) -> None:
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kamal("lock", "release", *KAMAL_VERSION), NO_LOCK)
    assert_ok(project.kdeploy("lock", "release", "-q"), NO_LOCK)
    released = project.kdeploy("lock", "release", "--output", "json")
    assert released.returncode == 0, released
    assert report(released)["items"] == [
        {"host": address(clean_sandbox, 1), "locked": False, "released": False}]
    assert released.events()[-1]["hosts"][address(clean_sandbox, 1)]["changed"] == 0


def test_audit_shows_each_hosts_boot_lines_like_kamal(clean_sandbox: SandboxInfo,
                                                       tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, example_config(info))
    setup = project.kdeploy("setup", "-P", "--version", "v1", "-q")
    assert setup.returncode == 0, setup

    audit = project.kdeploy("audit", "-q")
    assert audit.returncode == 0, audit
    per_host = {index: audit_lines(info, index) for index in (1, 2, 3)}
    assert audit.stdout == "\n\n".join(
        "\n".join([f"App Host: {address(info, index)}", *per_host[index]])
        for index in (1, 2, 3)) + "\n"
    assert any(line.endswith("[web] Booted app version v1") for line in per_host[1])
    assert any(line.endswith("[web] Booted app version v1") for line in per_host[2])
    assert any(line.endswith("[job] Booted app version v1") for line in per_host[3])

    # Kamal shows the same lines under the same headings.
    kamal = project.kamal("audit", *KAMAL_VERSION)
    assert kamal.returncode == 0, kamal
    for index in (1, 2, 3):
        block = "\n".join([f"App Host: {address(info, index)}", *per_host[index]])
        assert block in kamal.stdout, kamal

    as_json = project.kdeploy("audit", "-r", "job", "--output", "json")
    assert as_json.returncode == 0, as_json
    assert report(as_json)["items"] == [{"host": address(info, 3), "lines": per_host[3]}]


def ruby_encode64_file(details: bytes) -> bytes:
    """What Kamal's `echo "#{Base64.encode64(details)}" > details` writes: 60-character lines,
    encode64's own final newline, then echo's."""
    encoded = base64.b64encode(details).decode()
    return ("\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n\n").encode()


def details_file(info: SandboxInfo) -> bytes:
    """The lock's details file on host 1, byte for byte (base64 again, to survive the pipe)."""
    out = helpers.ssh(info, 1, f"base64 -w0 {LOCK_DIR}/details").stdout
    return base64.b64decode(out)


def test_a_non_ascii_message_is_written_as_kamal_writes_it_and_read_back(
        clean_sandbox: SandboxInfo, tmp_path: Path) -> None:
    # Kamal 2.12 (#1860) keeps non-ASCII lock details intact; the file is encode64 of UTF-8.
    message = "déploiement ✓ 日本"
    project = Project.write(tmp_path, example_config(clean_sandbox))
    assert_ok(project.kdeploy("lock", "acquire", "-m", message, "--version", "v1"),
              "Acquired the deploy lock")
    ours = details_file(clean_sandbox)
    details = base64.b64decode(ours)
    assert details.decode("utf-8").splitlines()[1:] == ["Version: v1", f"Message: {message}"]
    assert ours == ruby_encode64_file(details)
    assert_ok(project.kdeploy("lock", "status", "-q"), "Version: v1", f"Message: {message}")
    status = project.kdeploy("lock", "status", "--output", "json")
    assert f"Message: {message}" in json.dumps(report(status), ensure_ascii=False), status
    # The real Kamal reads it back the same.
    assert_ok(project.kamal("lock", "status", *KAMAL_VERSION), f"Message: {message}")
    assert_ok(project.kdeploy("lock", "release", "-q"), "Released the deploy lock")

    # And Kamal's own file for the same message has the same layout.
    assert_ok(project.kamal("lock", "acquire", "-m", message, *KAMAL_VERSION),
              "Acquired the deploy lock")
    theirs = details_file(clean_sandbox)
    assert theirs == ruby_encode64_file(base64.b64decode(theirs))
    assert f"Message: {message}" in base64.b64decode(theirs).decode("utf-8")
    assert_ok(project.kdeploy("lock", "status", "-q"), f"Message: {message}")
    assert_ok(project.kdeploy("lock", "release", "-q"), "Released the deploy lock")
