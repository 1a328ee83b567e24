"""Run one local command for `build push` (docker, git) and keep what it printed.

The only place the build starts processes, so tests replace `run_local` with a stub.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Not found: the shell's exit code, so callers tell "not installed" from "failed".
NOT_FOUND = 127


@dataclass(frozen=True)
class LocalRun:
    """A finished local command: its exit code and its output (stdout and stderr together)."""

    argv: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        """The last non-empty lines of the output (what explains a failure)."""
        kept = [line for line in self.output.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])


def run_local(argv: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
              stdin: str | None = None,
              on_line: Callable[[str], None] | None = None) -> LocalRun:
    """Run `argv` with stderr merged into stdout (Kamal's `2>&1`).

    Args:
        argv: the command; never a shell line.
        cwd: where to run it (the clone for a build).
        env: variables added to this process's environment (build secrets, DOCKER_BUILDKIT).
        stdin: text written to the command's stdin (the registry password), else no stdin.
        on_line: called with each output line as it arrives (to stream a build).

    Returns:
        The exit code and the whole output; exit 127 with a message when the program is missing.
    """
    environment = {**os.environ, **(env or {})}
    try:
        process = subprocess.Popen(
            argv, cwd=cwd, env=environment, text=True, errors="replace",
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
    except FileNotFoundError:
        return LocalRun(tuple(argv), NOT_FOUND, f"{argv[0]}: command not found")
    except OSError as error:
        return LocalRun(tuple(argv), NOT_FOUND, f"{argv[0]}: {error.strerror}")
    if stdin is not None:
        assert process.stdin is not None
        # A command that exits without reading (docker missing its daemon) closes the pipe.
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(stdin)
            process.stdin.close()
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))
    return LocalRun(tuple(argv), process.wait(), "".join(lines))
