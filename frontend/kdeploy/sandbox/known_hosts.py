"""Record the sandbox hosts' keys in ~/.ssh/known_hosts, so ssh, kdeploy and Kamal check them.

kdeploy (like Kamal) refuses a host whose key differs from the recorded one. The sandbox knows its
hosts' keys (it installs them), so `up` writes them itself: no trust-on-first-use, and an entry
left by an older sandbox at the same address (another subnet's, or keys from before the key
cache was wiped) is replaced instead of making every deploy fail.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping
from pathlib import Path


def user_known_hosts() -> Path:
    """The known_hosts ssh writes to: it takes `~` from the password database, not from $HOME."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh" / "known_hosts"


def public_key(private_key: Path) -> str:
    """`<type> <base64>` of a host's private key file (the key its sshd presents)."""
    printed = subprocess.run(["ssh-keygen", "-y", "-f", str(private_key)], capture_output=True,
                             text=True, check=True).stdout
    key_type, key = printed.split()[:2]
    return f"{key_type} {key}"


def record_host_keys(keys: Mapping[str, str], known_hosts: Path | None = None) -> Path:
    """Make `known_hosts` hold exactly `keys` for these addresses (port 22).

    Args:
        keys: address -> `<type> <base64>` of the key the host's sshd presents.
        known_hosts: the file to write (default: ssh's ~/.ssh/known_hosts).

    Returns:
        The file written.
    """
    known_hosts = known_hosts or user_known_hosts()
    known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if known_hosts.exists():
        for address in keys:
            # Also finds hashed entries (HashKnownHosts yes); keeps a backup in known_hosts.old.
            subprocess.run(["ssh-keygen", "-R", address, "-f", str(known_hosts)],
                           capture_output=True, check=False)
    with known_hosts.open("a") as stream:
        stream.writelines(f"{address} {key}\n" for address, key in keys.items())
    return known_hosts
