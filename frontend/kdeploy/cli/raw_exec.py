"""`app|accessory|server exec --raw` (Kamal 2.12): the command's stdout, byte for byte.

Kamal writes each host's captured stdout unstripped, with nothing around it (no `App Host:`
header, no step lines), so the output can be piped: `kdeploy app exec --raw 'tar c /data' > x`.
The hosts send it base64-encoded (Ansible's results are text) and kdeploy decodes it here. All
else kdeploy prints (a failure, the error) goes to stderr. The command's own stderr, which Kamal
drops in this mode, goes to stderr too.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import click

from kdeploy.cli.options import GlobalOptions
from kdeploy.errors import UsageError
from kdeploy.output import HumanOutput
from kdeploy.plan import Plan
from kdeploy.reports.common import Results
from kdeploy.run import kamal_hooks
from kdeploy.run.execute import execute_plan
from kdeploy.selection import CommandContext

RAW_HELP = "Output raw, unmodified stdout."
MASK = b"[REDACTED]"


def refuse_json(output_format: str) -> None:
    """`--raw` owns stdout: there is no room for JSON events.

    Raises:
        UsageError: with `--output json`.
    """
    if output_format == "json":
        raise UsageError("--raw writes the command's output to stdout: it does not apply to "
                         "--output json")


def raw_chunks(hosts: Sequence[str], results: Results) -> list[tuple[bytes, str]]:
    """(stdout bytes, stderr text) of each command, hosts in selection order, then their roles.

    A host's result is the task's own (one command) or, for a task that looped over the host's
    roles, one item per role; skipped items ran nothing.
    """
    chunks = []
    for host in hosts:
        result = results.get(host)
        if result is None:
            continue
        for item in result.get("results", [result]):
            if item.get("skipped") or "stdout" not in item:
                continue
            # b64decode drops the line breaks base64 puts every 76 characters.
            chunks.append((base64.b64decode(str(item["stdout"])), str(item.get("stderr", ""))))
    return chunks


def redact_bytes(secret_values: Sequence[str]) -> Callable[[bytes], bytes]:
    """The byte form of output.redactor: a secret of 4 characters or more is masked."""
    hidden = [value.encode() for value in secret_values if len(value) >= 4]

    def redact(data: bytes) -> bytes:
        for value in hidden:
            data = data.replace(value, MASK)
        return data

    return redact


class RawOutput(HumanOutput):
    """Nothing on stdout but the commands' bytes; kdeploy's own lines (failures) on stderr."""

    def __init__(self, secret_values: Sequence[str], stdout: BinaryIO | None = None) -> None:
        super().__init__(quiet=True, redact=self._redact_text(secret_values), stream=sys.stderr)
        self.redact_bytes = redact_bytes(secret_values)
        self.stdout = stdout

    @staticmethod
    def _redact_text(secret_values: Sequence[str]) -> Callable[[str], str]:
        redact = redact_bytes(secret_values)
        return lambda text: redact(text.encode()).decode()

    def report(self, text: str, data: dict[str, Any]) -> None:
        """Write each command's stdout unmodified (secrets still masked), its stderr to stderr."""
        del text
        stdout = self.stdout or sys.stdout.buffer
        for output, errors in data["chunks"]:
            if errors.strip():
                click.echo(self.redact(errors.rstrip("\n")), err=True)
            stdout.write(self.redact_bytes(output))
        stdout.flush()


def execute_raw(context: CommandContext, plan: Plan, options: GlobalOptions,
                hosts: Sequence[str]) -> None:
    """Run an exec plan whose report task sent base64 stdout, and write the bytes to stdout.

    Raises:
        DeployFailed: a command failed or a host was unreachable (exit 1), after the output.
        Interrupted: a stop signal cut the command (exit 128 + the signal).
    """
    execute_plan(context, plan, RawOutput, skip_hooks=options.skip_hooks,
                 verbosity=kamal_hooks.verbosity(False, True),
                 report=lambda results: ("", {"chunks": raw_chunks(hosts, results)}),
                 lock_wait=options.lock_waiting)
