"""`kdeploy setup` with a name that would become a path: exit 2 at load, no process started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module

CONFIG = {
    "service": "app", "image": "app", "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
    "servers": {"web": ["10.0.0.1"], "../x": ["10.0.0.2"]},
}


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every plan run and refuse every process (ssh, ansible, git, hooks)."""
    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(execute_module, "run_plan", lambda *args: started.append(args))
    return started


@pytest.mark.parametrize(("args", "message"), [
    ((), "ERROR: config/deploy.yml: servers/../x: Invalid role name: '../x'."),
    (("-d", "../x"), "ERROR: -d/--destination: Invalid destination name: '../x'."),
])
def test_setup_exits_2_at_load_and_starts_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nothing_starts: list[object],
        args: tuple[str, ...], message: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    monkeypatch.chdir(tmp_path)
    cli_package._register_commands()

    result = CliRunner().invoke(cli_package.cli, ["setup", "-P", "--version", "v1", *args])

    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and errors[0].startswith(message), result.output
    assert "Traceback" not in result.output
    assert nothing_starts == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]
