"""A held lock is named with its age and the exact command that releases it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from kdeploy.run.lock_details import (
    describe_held_lock,
    format_age,
    lock_holder,
    lock_taken_at,
    release_command,
)

HELD = ("Deploy lock already in place!\nLocked by: ops@example.com at 2026-12-06T08:00:00Z\n"
        "Version: v2\nMessage: Automatic deploy lock\nDeploy lock found on 10.0.0.1.")


def _config(file: str = "config/deploy.yml", destination: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(config_file=Path(file), destination=destination)


def test_a_held_lock_names_holder_message_age_and_release_command(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    now = datetime(2026, 12, 6, 11, 5, 30, tzinfo=UTC)
    text = describe_held_lock(HELD, _config(destination="staging"), now=now)  # type: ignore[arg-type]
    assert text.startswith(HELD + "\n")
    assert "The lock was taken 3 h 5 min ago." in text
    assert "release it with `kdeploy lock release -d staging` (or `kamal lock release`)" in text


def test_details_without_a_time_still_name_the_command(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    text = describe_held_lock("Deploy lock already in place!\n", _config())  # type: ignore[arg-type]
    assert "taken" not in text and "`kdeploy lock release`" in text


def test_the_time_comes_from_kamals_locked_by_line() -> None:
    assert lock_taken_at(HELD) == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    assert lock_taken_at("Locked by: someone\nVersion: v1") is None


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h 0 min"),
    (86399, "23 h 59 min"), (90000, "1 d 1 h"), (-5, "0 s"),
])
def test_ages_read_like_people_say_them(seconds: int, text: str) -> None:
    assert format_age(seconds) == text


def test_the_release_command_carries_a_config_file_other_than_the_default(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert release_command(_config()) == "kdeploy lock release"  # type: ignore[arg-type]
    assert release_command(_config("deploy.yml", "prod")) == (  # type: ignore[arg-type]
        "kdeploy lock release -c deploy.yml -d prod")


def test_lock_holder_reads_who_when_what_and_whether_a_deploy_took_it() -> None:
    details = ("Deploy lock already in place!\nLocked by: Jane Doe at 2026-12-06T08:30:00Z\n"
               "Version: v2\nMessage: Automatic deploy lock (jane@example.com)\n")
    assert lock_holder(details) == {
        "locked_by": "Jane Doe", "since": "2026-12-06T08:30:00Z", "version": "v2",
        "message": "Automatic deploy lock (jane@example.com)", "automatic": True}


def test_lock_holder_of_a_manual_lock_without_a_time() -> None:
    assert lock_holder("Locked by: ops\nMessage: maintenance") == {
        "locked_by": "ops", "message": "maintenance", "automatic": False}


def test_lock_holder_of_details_that_name_nobody() -> None:
    assert lock_holder("Deploy lock already in place!") is None
