"""What `kdeploy server exec` prints: each host's output under its name."""

from __future__ import annotations

from typing import Any

from kdeploy.reports.common import Results, report_data


def exec_report(hosts: tuple[str, ...], results: Results,
                quiet: bool = False) -> tuple[str, dict[str, Any]]:
    """Each host's output under `App Host: <host>` as Kamal prints it (`-q`: output only).

    JSON: one item per host, `{host, rc, output}`, hosts in selection order.
    """
    outputs = {host: _output(results[host]) for host in hosts if host in results}
    blocks = [text if quiet else f"App Host: {host}\n{text}" for host, text in outputs.items()]
    items = [{"host": host, "rc": results[host].get("rc"), "output": outputs[host]}
             for host in outputs]
    return "\n\n".join(blocks), report_data("server exec", items)


def _output(result: dict[str, Any]) -> str:
    # raw's stdout comes through a pty (CRLF); Kamal's capture strips the output.
    return str(result.get("stdout", "")).replace("\r\n", "\n").strip()
