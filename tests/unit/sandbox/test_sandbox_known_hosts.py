"""`sandbox up` records its hosts' keys: stale entries for its addresses go, others stay."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kdeploy.sandbox.known_hosts import public_key, record_host_keys

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def _key(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def _entries(known_hosts: Path, address: str) -> list[str]:
    found = subprocess.run(["ssh-keygen", "-F", address, "-f", str(known_hosts)],
                           capture_output=True, text=True, check=False).stdout
    return [line.split(None, 1)[1] for line in found.splitlines() if not line.startswith("#")]


def test_the_hosts_keys_replace_stale_plain_and_hashed_entries(tmp_path: Path) -> None:
    old, new, other = (_key(tmp_path, name) for name in ("old", "new", "other"))
    known_hosts = tmp_path / "home" / ".ssh" / "known_hosts"
    known_hosts.parent.mkdir(parents=True)
    known_hosts.write_text(f"10.213.7.11 {public_key(old)}\n"
                           f"10.213.7.12,db.example {public_key(other)}\n"
                           f"192.0.2.1 {public_key(other)}\n")
    # An entry as ssh writes it with HashKnownHosts yes (Debian's default).
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], capture_output=True, check=True)

    record_host_keys({"10.213.7.11": public_key(new), "10.213.7.12": public_key(new)},
                     known_hosts)
    record_host_keys({"10.213.7.11": public_key(new), "10.213.7.12": public_key(new)},
                     known_hosts)  # twice: still one entry each

    assert _entries(known_hosts, "10.213.7.11") == [public_key(new)]
    assert _entries(known_hosts, "10.213.7.12") == [public_key(new)]
    assert _entries(known_hosts, "192.0.2.1") == [public_key(other)]


def test_a_missing_ssh_directory_is_created_private(tmp_path: Path) -> None:
    key = _key(tmp_path, "host")
    known_hosts = tmp_path / "home" / ".ssh" / "known_hosts"
    assert record_host_keys({"10.213.7.11": public_key(key)}, known_hosts) == known_hosts
    assert known_hosts.parent.stat().st_mode & 0o777 == 0o700
    assert known_hosts.read_text() == f"10.213.7.11 {public_key(key)}\n"
