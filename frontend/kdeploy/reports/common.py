"""What every report shares: the results per host, Kamal's `puts_by_host` blocks, the JSON shape.

A report's data is the `report` event of schema v1 without its envelope: `{"report": <name>,
"items": [...]}`, one item per host (and role or accessory), plus `text` where the text is
the payload (logs, exec). `schemas/events-v1.schema.json` names each report's item fields.
"""

from __future__ import annotations

import json
from typing import Any

# The registered result of the plan's report task, per host.
Results = dict[str, dict[str, Any]]
# One printed block: (header type, host, role or accessory name, output).
Block = tuple[str, str, str | None, str]

# The extra variable that makes the report tasks print one JSON object per container or image
# (`docker ps --format '{{json .}}'`) instead of Kamal's table: set for `--output json`.
REPORT_FORMAT_VAR = "kdeploy_report_format"


def report_data(name: str, items: list[dict[str, Any]], text: str | None = None,
                **fields: Any) -> dict[str, Any]:
    """The fields of a `report` event: its name, its items and (when given) its text."""
    data: dict[str, Any] = {"report": name, "items": items, **fields}
    if text is not None:
        data["text"] = text
    return data


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


# docker's `{{json .}}` keys -> the report's fields (schema: `container`, `image`).
_CONTAINER_FIELDS = {"ID": "id", "Names": "name", "Image": "image", "State": "state",
                     "Status": "status", "Ports": "ports", "CreatedAt": "created"}
_IMAGE_FIELDS = {"ID": "id", "Repository": "repository", "Tag": "tag",
                 "CreatedAt": "created", "Size": "size"}


def containers_of(output: str) -> list[dict[str, str]]:
    """The containers of `docker ps --format '{{json .}}'` output, one per line.

    Lines that are not such objects (Kamal's table, when the task printed that) are left out.
    """
    return [_pick(found, _CONTAINER_FIELDS) for found in _json_lines(output)
            if "Names" in found and "Image" in found]


def images_of(output: str) -> list[dict[str, str]]:
    """The images of `docker image ls --format '{{json .}}'` output, one per line."""
    return [_pick(found, _IMAGE_FIELDS) for found in _json_lines(output)
            if "Repository" in found and "ID" in found]


def _json_lines(output: str) -> list[dict[str, Any]]:
    found = []
    for line in output.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _pick(found: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    return {name: str(found[key]) for key, name in fields.items() if key in found}
