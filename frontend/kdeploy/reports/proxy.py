"""What `kdeploy proxy details` and `proxy logs` print, per host."""

from __future__ import annotations

from typing import Any

from kdeploy.reports.common import Results, by_host, output_of


def proxy_report(hosts: tuple[str, ...], results: Results,
                 quiet: bool) -> tuple[str, dict[str, Any]]:
    """`proxy details` and `proxy logs`: each host's output under Kamal's `Proxy Host: <host>`."""
    blocks = [("Proxy", host, None, output_of(results[host])) for host in hosts if host in results]
    return by_host(blocks, quiet), {"results": [
        {"host": host, "output": output} for _, host, _, output in blocks]}
