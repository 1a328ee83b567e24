"""What `kdeploy accessory …` and `kdeploy remove` print about accessories, per host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdeploy.reports.common import Results, by_host, containers_of, output_of, report_data

Hosts = dict[str, tuple[str, ...]]  # accessory -> its hosts inside the filters


def _host_order(hosts: Hosts) -> list[str]:
    return list(dict.fromkeys(host for found in hosts.values() for host in found))


def details_report(hosts: Hosts, results: Results, quiet: bool,
                   name: str = "accessory details") -> tuple[str, dict[str, Any]]:
    """`accessory details`: `docker ps` under `Accessory <name> Host: <host>` (Kamal's type)."""
    blocks = [(f"Accessory {accessory}", host, accessory, output_of(results[host]))
              for accessory, found in hosts.items() for host in found if host in results]
    return by_host(blocks, quiet), report_data(name, [
        {"host": host, "accessory": accessory, "containers": containers_of(output)}
        for _, host, accessory, output in blocks])


def logs_report(hosts: Hosts, results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory logs`: each host's lines one after the other (Kamal prints no host header)."""
    order = [host for host in _host_order(hosts) if host in results]
    text = "\n".join(output for host in order if (output := output_of(results[host])))
    return text, report_data("accessory logs", [
        {"host": host, "accessory": _name_on(hosts, host), "output": output_of(results[host])}
        for host in order])


def exec_report(hosts: Hosts, results: Results,
                quiet: bool) -> tuple[str, dict[str, Any]]:
    """`accessory exec`: the command's output per host (Kamal's `App Host:` header)."""
    order = [host for host in _host_order(hosts) if host in results]
    blocks = [("App", host, None, output_of(results[host])) for host in order]
    return by_host(blocks, quiet), report_data("accessory exec", [
        {"host": host, "accessory": _name_on(hosts, host), "rc": results[host].get("rc"),
         "output": output_of(results[host])} for host in order])


def _name_on(hosts: Hosts, host: str) -> str:
    # logs and exec run for one accessory: the one on this host.
    return next((name for name, found in hosts.items() if host in found), "")


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
            found.append({"host": host, "accessory": name, "differences": [],
                          **{k: v for k, v in entry.items() if k != "accessory"}})
    return found


def boot_report(hosts: Hosts, results: Results, quiet: bool,
                name: str = "accessory boot") -> tuple[str, dict[str, Any]]:
    """`accessory boot|reboot|upgrade` (`name`): booted, left running, or differing (in what)."""
    entries = outcomes(hosts, results)
    lines = []
    for entry in entries:
        accessory, host = entry["accessory"], entry["host"]
        if entry["outcome"] == "booted":
            lines.append(f"Booted accessory {accessory} on {host}")
        elif entry["outcome"] == "differs":
            lines.append(f"Accessory {accessory} on {host} differs from its config in "
                         f"{', '.join(entry['differences'])}; left running (apply it with: "
                         f"kdeploy accessory reboot {accessory})")
        elif not quiet:
            lines.append(f"Skipping booting `{accessory}` on {host}, it is already running "
                         "with this config")
    return "\n".join(lines), report_data(name, entries)


def remove_report(hosts: Hosts, results: Results, quiet: bool,
                  name: str = "accessory remove") -> tuple[str, dict[str, Any]]:
    """`accessory remove` and `remove` (`name`): what data was kept (and where), or purged."""
    entries = outcomes(hosts, results)
    lines = []
    for entry in entries:
        accessory, host, kept = entry["accessory"], entry["host"], entry.get("kept") or []
        entry["kept"] = kept
        if entry["outcome"] == "purged":
            lines.append(f"Removed accessory {accessory} on {host} with its data"
                         + (f" (kept, never removed: {', '.join(_kept(kept))})" if kept else ""))
        elif kept:
            lines.append(f"Removed accessory {accessory} on {host}; kept its data: "
                         f"{', '.join(_kept(kept))} (delete it with --purge)")
        else:
            lines.append(f"Removed accessory {accessory} on {host}")
    return "\n".join(lines), report_data(name, entries)


def _kept(lines: list[str]) -> list[str]:
    # `directory /root/app-db/data`, `volume dbdata` -> `/root/app-db/data`, `volume dbdata`.
    return [line.removeprefix("directory ") for line in lines]


REPORTS: dict[str, Callable[..., tuple[str, dict[str, Any]]]] = {
    "details": details_report,
    "boot": boot_report,
    "reboot": boot_report,
    "upgrade": boot_report,
    "remove": remove_report,
}
