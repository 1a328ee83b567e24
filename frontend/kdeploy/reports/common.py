"""What every report shares: the results per host, and Kamal's `puts_by_host` blocks."""

from __future__ import annotations

from typing import Any

# The registered result of the plan's report task, per host.
Results = dict[str, dict[str, Any]]
# One printed block: (header type, host, role or accessory name, output).
Block = tuple[str, str, str | None, str]


def output_of(result: dict[str, Any]) -> str:
    """What a raw task printed: the pty's CRLF line ends turned into LF, outer blank lines cut."""
    return str(result.get("stdout", "")).replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def by_host(blocks: list[Block], quiet: bool) -> str:
    """Kamal's puts_by_host for each block: `<Type> Host: <host>` (not with -q), the output."""
    return "\n\n".join(output if quiet else f"{kind} Host: {host}\n{output}"
                       for kind, host, _, output in blocks)


def role_results(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, item result) of a task that looped over the host's roles, skipping skipped ones."""
    return [(str(item.get("__app_ops_role", "")), item)
            for item in result.get("results", []) if not item.get("skipped")]
