"""Stand-in vault CLIs (op, bw, lpass, aws, ...): executables that record their argv and answer.

Each stand-in is a small Python script in a directory put first (and alone) on PATH. It appends
`{"argv": [...], "bw_session": ...}` to a log, then prints the canned stdout for its exact argv
and exits with the canned status. An argv may get a list of answers, one per call (`bw status`
before and after an unlock); the last one repeats. Unknown argv: empty output, exit 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kdeploy.config.secret_adapters import VaultRunner

Answer = tuple[int, str]

_SCRIPT = """\
#!{python}
import json, os, sys
from pathlib import Path

program, args = {program!r}, sys.argv[1:]
log = Path({log!r})
with log.open("a") as out:
    out.write(json.dumps({{"argv": [program, *args],
                          "bw_session": os.environ.get("BW_SESSION")}}) + "\\n")
answers = json.loads(Path({answers!r}).read_text()).get(json.dumps(args))
if answers is None:
    sys.exit(0)
seen = len([c for c in log.read_text().splitlines() if json.loads(c)["argv"] == [program, *args]])
rc, stdout = answers[min(seen, len(answers)) - 1]
sys.stdout.write(stdout)
sys.exit(rc)
"""


class StandIns:
    """The stand-in CLIs of one test, in `tmp/bin`, logging to `tmp/calls.jsonl`."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.bin.mkdir(exist_ok=True)
        self.log = tmp / "calls.jsonl"

    def add(self, program: str, answers: dict[tuple[str, ...], Answer | list[Answer]]) -> None:
        """Install program, answering each argv (after the program name) as given."""
        table = {json.dumps(list(args)): [list(a) for a in (v if isinstance(v, list) else [v])]
                 for args, v in answers.items()}
        answers_file = self.tmp / f"{program}.answers.json"
        answers_file.write_text(json.dumps(table))
        script = self.bin / program
        script.write_text(_SCRIPT.format(python=sys.executable, program=program,
                                         log=str(self.log), answers=str(answers_file)))
        script.chmod(0o755)

    def calls(self) -> list[list[str]]:
        """Every recorded argv, program first, in call order."""
        return [entry["argv"] for entry in self._entries()]

    def sessions(self) -> list[str | None]:
        """BW_SESSION as each call saw it."""
        return [entry["bw_session"] for entry in self._entries()]

    def _entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def environ(self, **extra: str) -> dict[str, str]:
        """An environment whose PATH holds the stand-ins only (no real vault CLI, no kamal)."""
        return {"PATH": str(self.bin), "HOME": str(self.tmp), **extra}

    def runner(self, **extra: str) -> VaultRunner:
        """A VaultRunner that finds the stand-ins."""
        return VaultRunner(cwd=self.tmp, environ=self.environ(**extra))


def ok(stdout: Any = "") -> Answer:
    """Exit 0 printing stdout (JSON-dumped unless a string)."""
    return 0, stdout if isinstance(stdout, str) else json.dumps(stdout)


FAIL: Answer = (1, "")
