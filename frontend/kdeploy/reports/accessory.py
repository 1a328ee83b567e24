"""What `kdeploy accessory …` and `kdeploy remove` print about accessories, per host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdeploy.reports.common import Results, by_host, output_of

Hosts = dict[str, tuple[str, ...]]  # accessory -> its hosts inside the filters


def _host_order(hosts: Hosts) -> list[str]:
    return list(dict.fromkeys(host for found in hosts.values() for host in found))


def details_report(hosts: Hosts, results: Results,
                   quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory details`: `docker ps` under `Accessory <name> Host: <host>` (Kamal's type)."""
    blocks = [(f"Accessory {name}", host, name, output_of(results[host]))
              for name, found in hosts.items() for host in found if host in results]
    return by_host(blocks, quiet), {"results": [
        {"accessory": name, "host": host, "output": output} for _, host, name, output in blocks]}


def logs_report(hosts: Hosts, results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory logs`: each host's lines one after the other (Kamal prints no host header)."""
    order = [host for host in _host_order(hosts) if host in results]
    text = "\n".join(output for host in order if (output := output_of(results[host])))
    return text, {"results": [{"host": host, "output": output_of(results[host])}
                              for host in order]}


def exec_report(hosts: Hosts, results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory exec`: the command's output per host (Kamal's `App Host:` header)."""
    order = [host for host in _host_order(hosts) if host in results]
    blocks = [("App", host, None, output_of(results[host])) for host in order]
    return by_host(blocks, quiet), {"results": [
        {"host": host, "rc": results[host].get("rc"), "output": output_of(results[host])}
        for host in order]}


def outcomes(hosts: Hosts, results: Results) -> list[dict[str, Any]]:
    """Per accessory and host, what boot/reboot/remove did (`accessory_report.yml`'s facts)."""
    found = []
    for name, accessory_hosts_ in hosts.items():
        for host in accessory_hosts_:
            if host not in results:
                continue  # the host failed before the report
            done = {entry.get("accessory"): entry for entry in results[host].get("msg") or []
                    if isinstance(entry, dict)}
            # A converged accessory ends its role after one call: no outcome means "running".
            entry = done.get(name) or {"outcome": "running", "differences": []}
            found.append({"accessory": name, "host": host, **{k: v for k, v in entry.items()
                                                              if k != "accessory"}})
    return found


def boot_report(hosts: Hosts, results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory boot|reboot|upgrade`: booted, left running, or differing (and in what)."""
    entries = outcomes(hosts, results)
    lines = []
    for entry in entries:
        name, host = entry["accessory"], entry["host"]
        if entry["outcome"] == "booted":
            lines.append(f"Booted accessory {name} on {host}")
        elif entry["outcome"] == "differs":
            lines.append(f"Accessory {name} on {host} differs from its config in "
                         f"{', '.join(entry['differences'])}; left running (apply it with: "
                         f"kdeploy accessory reboot {name})")
        elif not quiet:
            lines.append(f"Skipping booting `{name}` on {host}, it is already running "
                         "with this config")
    return "\n".join(lines), {"accessories": entries}


def remove_report(hosts: Hosts, results: Results,
                  quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory remove` and `remove`: what data was kept (and where), or that it was purged."""
    entries = outcomes(hosts, results)
    lines = []
    for entry in entries:
        name, host, kept = entry["accessory"], entry["host"], entry.get("kept") or []
        entry["kept"] = kept
        if entry["outcome"] == "purged":
            lines.append(f"Removed accessory {name} on {host} with its data"
                         + (f" (kept, never removed: {', '.join(_kept(kept))})" if kept else ""))
        elif kept:
            lines.append(f"Removed accessory {name} on {host}; kept its data: "
                         f"{', '.join(_kept(kept))} (delete it with --purge)")
        else:
            lines.append(f"Removed accessory {name} on {host}")
    return "\n".join(lines), {"accessories": entries}


def _kept(lines: list[str]) -> list[str]:
    # `directory /root/app-db/data`, `volume dbdata` -> `/root/app-db/data`, `volume dbdata`.
    return [line.removeprefix("directory ") for line in lines]


REPORTS: dict[str, Callable[[Hosts, Results, bool], tuple[str, dict[str, Any]]]] = {
    "details": details_report,
    "boot": boot_report,
    "reboot": boot_report,
    "upgrade": boot_report,
    "remove": remove_report,
}
