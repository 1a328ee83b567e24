"""What `kdeploy proxy details` and `proxy logs` print, per host."""

from __future__ import annotations

from typing import Any

from kdeploy.reports.common import Results, by_host, containers_of, output_of, report_data


def proxy_report(hosts: tuple[str, ...], results: Results, quiet: bool,
                 name: str = "proxy details") -> tuple[str, dict[str, Any]]:
    """`proxy details` and `proxy logs` (`name`): each host's output under `Proxy Host: <host>`.

    JSON: the proxy's containers per host (details), or its log lines as `output` (logs).
    """
    blocks = [("Proxy", host, None, output_of(results[host])) for host in hosts if host in results]
    if name == "proxy logs":
        items = [{"host": host, "output": output} for _, host, _, output in blocks]
    else:
        items = [{"host": host, "proxy": True, "containers": containers_of(output)}
                 for _, host, _, output in blocks]
    return by_host(blocks, quiet), report_data(name, items)


def boot_config_report(hosts: tuple[str, ...], results: Results) -> tuple[str, dict[str, Any]]:
    """`proxy boot_config get`: Kamal's `Host <host>: <boot config>` line per host."""
    items = [{"host": host, "output": output_of(results[host]).strip()}
             for host in hosts if host in results]
    text = "\n".join(f"Host {item['host']}: {item['output']}" for item in items)
    return text, report_data("proxy boot_config", items)
