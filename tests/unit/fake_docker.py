"""A fake `docker` on PATH that records its argv, for the commands that run docker locally.

Each call appends its argv as one JSON line to `calls.jsonl`. `FAKE_DOCKER_ANSWERS` (JSON:
`{"<argv prefix>": [exit code, output]}`) makes a command whose joined argv starts with the prefix
print the output and exit with the code; any other command prints nothing and exits 0.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

_SCRIPT = """#!{python}
import json, os, sys
argv = ["docker", *sys.argv[1:]]
with open({log!r}, "a") as log:
    log.write(json.dumps(argv) + "\\n")
line = " ".join(argv)
for prefix, (code, output) in json.loads(os.environ.get("FAKE_DOCKER_ANSWERS", "{{}}")).items():
    if line.startswith(prefix):
        sys.stdout.write(output)
        sys.exit(code)
"""


class FakeDocker:
    """The fake's log and answers."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = directory / "calls.jsonl"
        self.monkeypatch = monkeypatch
        script = directory / "docker"
        script.write_text(_SCRIPT.format(python=sys.executable, log=str(self.log)))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")

    def answer(self, answers: dict[str, tuple[int, str]]) -> None:
        """Set the exit codes and outputs of the commands starting with each prefix."""
        self.monkeypatch.setenv("FAKE_DOCKER_ANSWERS", json.dumps(answers))

    def calls(self) -> list[list[str]]:
        """Every argv the fake saw, in order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def lines(self) -> list[str]:
        """Every call as one line (words joined by spaces)."""
        return [" ".join(argv) for argv in self.calls()]


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDocker:
    """A fake docker first on PATH."""
    directory = tmp_path / "fakebin"
    directory.mkdir()
    return FakeDocker(directory, monkeypatch)
