"""Processes and readiness: is a pid alive, wait for a port or a socket, stop pids."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kdeploy.sandbox.errors import SandboxError

POLL_INTERVAL = 0.02


def pid_alive(pid: int | None, comm: str | None = None) -> bool:
    """True when `pid` runs (not a zombie) and, if given, its command name is `comm`."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name in parentheses; Z and X are dead.
    name, _, rest = stat.partition(" (")[2].rpartition(") ")
    if rest[:1] in ("Z", "X"):
        return False
    return comm is None or name == comm


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or None when the file is missing or empty."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it is true; raise SandboxError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def tcp_open(address: str, port: int) -> bool:
    """True when something accepts TCP connections on `address:port`."""
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def docker_ping(sock: Path) -> bool:
    """True when the dockerd behind unix socket `sock` answers `/_ping` with OK."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(str(sock))
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = conn.recv(4096)
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0] + b" "


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    """Send `sig` to every pid, ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_pids(pids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM the pids, wait up to `grace` s, then SIGKILL what is left."""
    pids = [pid for pid in pids if pid_alive(pid)]
    kill_pids(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
    kill_pids(pid for pid in pids if pid_alive(pid))


def run(argv: list[str], what: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run `argv`; raise SandboxError with `what`, the command and its stderr if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise SandboxError(f"{what} failed (exit {result.returncode}): {' '.join(argv)}: "
                           f"{detail[0]}")
    return result


def daemon_env() -> dict[str, str]:
    """This environment minus proxy settings: sandbox traffic must stay on this machine."""
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}


def spawn(argv: list[str], log: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    """Start a long-running daemon in its own session, output to `log`, stdin closed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=daemon_env(), **kwargs)
