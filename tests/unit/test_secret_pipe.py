from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kdeploy.run.secret_pipe import FIFO_ENV, SecretPipe


def test_launcher_hands_secrets_to_the_program_through_the_fifo(tmp_path: Path) -> None:
    secrets = {"KDEPLOY_SECRET_DB": "s3cr3t value"}
    with SecretPipe(tmp_path, secrets, playbook="/usr/bin/env") as pipe:
        env = {**os.environ, FIFO_ENV: str(pipe.fifo)}
        printed = subprocess.run([str(pipe.launcher)], env=env, capture_output=True, text=True,
                                 check=True).stdout
    assert "KDEPLOY_SECRET_DB=s3cr3t value" in printed.splitlines()
    assert FIFO_ENV not in printed


def test_no_secret_value_is_left_on_disk(tmp_path: Path) -> None:
    with SecretPipe(tmp_path, {"KDEPLOY_SECRET_DB": "s3cr3t"}, playbook="/usr/bin/env") as pipe:
        env = {**os.environ, FIFO_ENV: str(pipe.fifo)}
        subprocess.run([str(pipe.launcher)], env=env, capture_output=True, check=True)
    for path in tmp_path.rglob("*"):
        assert b"s3cr3t" not in path.read_bytes()
    assert not (tmp_path / "secrets.fifo").exists()


def test_an_unread_pipe_does_not_hang_the_exit(tmp_path: Path) -> None:
    with SecretPipe(tmp_path, {"KDEPLOY_SECRET_DB": "never read"}, playbook="/usr/bin/env"):
        pass
    assert not (tmp_path / "secrets.fifo").exists()


def test_a_python_that_cannot_import_kdeploy_execs_ansible_playbook(tmp_path: Path) -> None:
    # -S: no site-packages, so neither kdeploy nor ansible; the exec'd script has its own Python.
    with SecretPipe(tmp_path, {"KDEPLOY_SECRET_DB": "s3cr3t"}) as pipe:
        env = {**os.environ, FIFO_ENV: str(pipe.fifo)}
        env.pop("PYTHONPATH", None)
        ran = subprocess.run([sys.executable, "-S", str(pipe.launcher), "--version"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("ansible-playbook [core ")
