"""What `kdeploy app …` and `kdeploy details` print, per host and role (Kamal's words)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdeploy.reports.common import (
    Block,
    Results,
    by_host,
    containers_of,
    images_of,
    output_of,
    report_data,
    role_results,
)


def _blocks(hosts: tuple[str, ...], results: Results) -> list[Block]:
    return [("App", host, None, output_of(results[host])) for host in hosts if host in results]


def containers_report(hosts: tuple[str, ...], results: Results,
                      quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app containers`: each host's containers of the app (Kamal's table for people)."""
    blocks = _blocks(hosts, results)
    return by_host(blocks, quiet), report_data("app containers", [
        {"host": host, "containers": containers_of(output)} for _, host, _, output in blocks])


def images_report(hosts: tuple[str, ...], results: Results,
                  quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app images`: each host's images of the app's repository (a skipped host has none)."""
    blocks = _blocks(hosts, results)
    return by_host(blocks, quiet), report_data("app images", [
        {"host": host, "images": images_of(output)} for _, host, _, output in blocks])


def version_report(hosts: tuple[str, ...], results: Results,
                   quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app version`: the running version per host (JSON: null when nothing runs)."""
    blocks = [(kind, host, name, output.strip())
              for kind, host, name, output in _blocks(hosts, results)]
    return by_host(blocks, quiet), report_data("app version", [
        {"host": host, "version": version or None} for _, host, _, version in blocks])


def details_report(hosts: tuple[str, ...], results: Results, quiet: bool,
                   name: str = "app details") -> tuple[str, dict[str, Any]]:
    """`app details`, `details`: kamal-proxy, app roles, then each accessory (Kamal's order).

    `name` is the report's (`details` for the top-level command).
    """
    items = [(host, item) for host in hosts for item in results.get(host, {}).get("results", [])
             if not item.get("skipped")]
    blocks: list[Block] = []
    for kind, label in (("proxy", "Proxy"), ("app", "App")):
        blocks += [(label, host, item["__app_ops_item"][1], output_of(item))
                   for host, item in items if item["__app_ops_item"][0] == kind]
    accessories = dict.fromkeys(item["__app_ops_item"][1] for _, item in items
                                if item["__app_ops_item"][0] == "accessory")
    for accessory in accessories:
        blocks += [(f"Accessory {accessory}", host, accessory, output_of(item))
                   for host, item in items if item["__app_ops_item"] == ["accessory", accessory]]
    return by_host(blocks, quiet), report_data(name, [
        {"host": host, **_owner(kind, owner), "containers": containers_of(output)}
        for kind, host, owner, output in blocks])


def _owner(kind: str, name: str | None) -> dict[str, Any]:
    # The block's header type -> whose containers these are, as the report item says it.
    if kind == "Proxy":
        return {"proxy": True}
    if kind == "App":
        return {"role": name or ""}
    return {"accessory": name or ""}


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
    return by_host(blocks, quiet), report_data("app logs", [
        {"host": host, "role": role or "", "found": ok, "output": output if ok else ""}
        for (_, host, role, output), ok in zip(blocks, found, strict=True)])


def exec_report(hosts: tuple[str, ...], results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`app exec`: each role's output per host, with the command's exit code in JSON."""
    entries = [(host, role, item) for host in hosts
               for role, item in role_results(results.get(host, {}))]
    blocks: list[Block] = [("App", host, role, output_of(item)) for host, role, item in entries]
    return by_host(blocks, quiet), report_data("app exec", [
        {"host": host, "role": role, "rc": item.get("rc"), "output": output_of(item)}
        for host, role, item in entries])


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
    return by_host(blocks, quiet), report_data("app stale_containers", [
        {"host": host, "role": role, "version": version.strip(), "stopped": stop}
        for host, role, version in stale])


READ_REPORTS: dict[str, Callable[[tuple[str, ...], Results, bool], tuple[str, dict[str, Any]]]] = {
    "details": details_report,
    "containers": containers_report,
    "images": images_report,
    "version": version_report,
}
