"""What `kdeploy app …` and `kdeploy details` print, per host and role (Kamal's words)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdeploy.reports.common import Block, Results, by_host, output_of, role_results


def single_report(hosts: tuple[str, ...], results: Results,
                  quiet: bool) -> tuple[str, dict[str, Any]]:
    """One output per host (`app containers`, `app images`)."""
    blocks: list[Block] = [("App", host, None, output_of(results[host]))
                           for host in hosts if host in results]
    return by_host(blocks, quiet), {"results": [
        {"host": host, "output": output} for _, host, _, output in blocks]}


def version_report(hosts: tuple[str, ...], results: Results,
                   quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app version`: the running version per host (empty when nothing runs)."""
    blocks: list[Block] = [("App", host, None, output_of(results[host]).strip())
                           for host in hosts if host in results]
    return by_host(blocks, quiet), {"versions": {host: out for _, host, _, out in blocks}}


def details_report(hosts: tuple[str, ...], results: Results,
                   quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app details`, `details`: kamal-proxy, app roles, then each accessory (Kamal's order)."""
    items = [(host, item) for host in hosts for item in results.get(host, {}).get("results", [])
             if not item.get("skipped")]
    blocks: list[Block] = []
    for kind, label in (("proxy", "Proxy"), ("app", "App")):
        blocks += [(label, host, item["__app_ops_item"][1], output_of(item))
                   for host, item in items if item["__app_ops_item"][0] == kind]
    accessories = dict.fromkeys(item["__app_ops_item"][1] for _, item in items
                                if item["__app_ops_item"][0] == "accessory")
    for name in accessories:
        blocks += [(f"Accessory {name}", host, name, output_of(item)) for host, item in items
                   if item["__app_ops_item"] == ["accessory", name]]
    return by_host(blocks, quiet), {"results": [
        {"type": kind, "host": host, "name": name, "output": output}
        for kind, host, name, output in blocks]}


def logs_report(hosts: tuple[str, ...], results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app logs`: each role's lines per host; Kamal's `Nothing found` when the pipeline failed."""
    blocks: list[Block] = []
    found: list[bool] = []
    for host in hosts:
        for role, item in role_results(results.get(host, {})):
            ok = item.get("rc", 0) == 0
            blocks.append(("App", host, role, output_of(item) if ok else "Nothing found"))
            found.append(ok)
    return by_host(blocks, quiet), {"results": [
        {"host": host, "role": role, "found": ok, "output": output if ok else ""}
        for (_, host, role, output), ok in zip(blocks, found, strict=True)]}


def exec_report(hosts: tuple[str, ...], results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app exec`: each role's output per host, with the command's exit code in JSON."""
    entries = [(host, role, item) for host in hosts
               for role, item in role_results(results.get(host, {}))]
    blocks: list[Block] = [("App", host, role, output_of(item)) for host, role, item in entries]
    return by_host(blocks, quiet), {"results": [
        {"host": host, "role": role, "rc": item.get("rc"), "output": output_of(item)}
        for host, role, item in entries]}


def stale_report(hosts: tuple[str, ...], results: Results, stop: bool,
                 quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app stale_containers`: Kamal's line per stale version (detected, or stopping)."""
    stale = [(host, role, version) for host in hosts
             for role, item in role_results(results.get(host, {}))
             for version in output_of(item).split("\n") if version.strip()]
    blocks: list[Block] = []
    for host, role, version in stale:
        line = (f"Stopping stale container for role {role} with version {version}" if stop else
                f"Detected stale container for role {role} with version {version} "
                "(use `kdeploy app stale_containers --stop` to stop)")
        blocks.append(("App", host, role, line))
    return by_host(blocks, quiet), {"stale": [
        {"host": host, "role": role, "version": version, "stopped": stop}
        for host, role, version in stale]}


READ_REPORTS: dict[str, Callable[[tuple[str, ...], Results, bool], tuple[str, dict[str, Any]]]] = {
    "details": details_report,
    "containers": single_report,
    "images": single_report,
    "version": version_report,
}
