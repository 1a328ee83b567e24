from __future__ import annotations

import subprocess
import sys

import pytest


def _kdeploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kdeploy", *args], capture_output=True,
                          text=True, check=False)


def test_the_entry_point_registers_every_command_group() -> None:
    listed = _kdeploy("--help").stdout
    commands = listed.split("Commands:", 1)[1].split()
    for name in ("config", "docs", "export", "init", "sandbox", "setup", "version"):
        assert name in commands


@pytest.mark.parametrize(("args", "message"), [
    (("setup", "-P", "-c", "/nonexistent/deploy.yml"), "Configuration file not found"),
    (("config", "-c", "/nonexistent/deploy.yml"), "Configuration file not found"),
])
def test_user_errors_are_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = _kdeploy(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
