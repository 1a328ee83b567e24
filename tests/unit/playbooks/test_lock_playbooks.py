"""playbooks/lock_acquire.yml run for real on this machine (local connection, a HOME of its own).

The lock is Kamal's directory `~/.kamal/lock-<name>`; `--lock-wait` takes it in a try of its
own before the plan's lock play runs, so that play must find a lock of the same run its own,
and any other holder's lock still held.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from playbook_support import REPO, collections_dir, require_tool

LOCK = Path(".kamal") / "lock-app"


def acquire(tmp_path: Path, run_id: str, message: str = "Automatic deploy lock",
            ) -> subprocess.CompletedProcess[str]:
    """Run the lock part as the given run, in `tmp_path`/home."""
    tool = require_tool("ansible-playbook")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    inventory = {"all": {"vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "kdeploy_service": "app", "kdeploy_service_with_destination": "app"}, "hosts": {"h1": {}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    # Extra vars, as kdeploy passes them (the play's hosts come from one).
    extravars = {"kdeploy_lock_host": "h1", "kdeploy_performer": "me", "kdeploy_version": "v1",
                 "lock_message": message, "kdeploy_run_id": run_id}
    environment = {**os.environ, "HOME": str(home),
                   "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections")),
                   "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run([tool, "-i", str(tmp_path / "inventory.json"),
                           "-e", json.dumps(extravars),
                           str(REPO / "playbooks" / "lock_acquire.yml")],
                          cwd=home, env=environment, capture_output=True, text=True, check=False)


def recap(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.rsplit("PLAY RECAP", 1)[-1]


def test_a_lock_of_the_same_run_counts_as_taken_and_unchanged(tmp_path: Path) -> None:
    first = acquire(tmp_path, "run-a")
    assert first.returncode == 0, first.stdout
    assert "changed=1 " in recap(first)
    details = (tmp_path / "home" / LOCK / "details").read_text()

    again = acquire(tmp_path, "run-a")
    assert again.returncode == 0, again.stdout
    assert "changed=0 " in recap(again)
    # The lock is left exactly as the first try wrote it.
    assert (tmp_path / "home" / LOCK / "details").read_text() == details
    assert (tmp_path / "home" / LOCK / "kdeploy-run").read_text() == "run-a\n"


def test_a_lock_of_another_run_or_of_kamal_is_still_held(tmp_path: Path) -> None:
    assert acquire(tmp_path, "run-a").returncode == 0
    other = acquire(tmp_path, "run-b")
    assert other.returncode != 0, other.stdout
    assert "Deploy lock already in place!" in other.stdout
    assert "Message: Automatic deploy lock" in other.stdout

    # Kamal's lock has no kdeploy-run file: a run without an id must not match it.
    (tmp_path / "home" / LOCK / "kdeploy-run").unlink()
    kamal = acquire(tmp_path, "")
    assert kamal.returncode != 0, kamal.stdout
    assert "Deploy lock already in place!" in kamal.stdout


def test_a_non_ascii_message_is_written_as_kamals_echo_of_encode64(tmp_path: Path) -> None:
    # Kamal: `echo "#{Base64.encode64(details)}"`: the UTF-8 text in 60-character lines, then
    # encode64's final newline and echo's. Kamal 2.12 (#1860) made non-ASCII details work.
    message = "déploiement ✓ — 日本語のメッセージはここで六十文字を超えます"
    result = acquire(tmp_path, "run-a", message)
    assert result.returncode == 0, result.stdout
    written = (tmp_path / "home" / LOCK / "details").read_bytes()
    lines = written.split(b"\n")
    assert lines[-2:] == [b"", b""] and len(lines) > 4
    assert all(len(line) == 60 for line in lines[:-3]) and 0 < len(lines[-3]) <= 60
    details = base64.b64decode(b"".join(lines)).decode("utf-8")
    assert details.split("\n")[1:] == ["Version: v1", f"Message: {message}"]
    assert details.startswith("Locked by: me at ")
