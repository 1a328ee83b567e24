"""`kdeploy accessory …`: Kamal's accessory subcommands (kamal-spec §3.4, §4.8).

`NAME` is an accessory of the config or `all` (config order). Kamal's global filters apply:
`-r web` keeps the accessories on web's hosts. The commands that change containers take the
deploy lock. `boot` converges (a running accessory is left alone and a changed config is only
reported), `reboot` pulls before it stops anything, and `remove` keeps the data unless `--purge`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from kdeploy.cli import cli
from kdeploy.cli.app import by_host, output_of, run_ssh, stdin_is_tty
from kdeploy.cli.options import GlobalOptions, command_context, global_options, output_option
from kdeploy.cli.remove import can_ask
from kdeploy.cli.run_command import execute
from kdeploy.errors import UsageError
from kdeploy.plan.accessory import (
    AccessoryLogsOptions,
    AccessoryOptions,
    accessory_hosts,
    build_accessory_exec_plan,
    build_accessory_logs_plan,
    build_accessory_plan,
    build_accessory_ssh_plan,
)
from kdeploy.plan.model import Plan
from kdeploy.run.ssh_command import ssh_argv
from kdeploy.selection import CommandContext

Results = dict[str, dict[str, Any]]
Hosts = dict[str, tuple[str, ...]]  # accessory -> its hosts inside the filters
name_argument = click.argument("name")


@cli.group()
def accessory() -> None:
    """Manage accessories (db/redis/search): Kamal's `accessory` commands."""


def _run(action: str, name: str, options: GlobalOptions, output_format: str,
         purge: bool = False, rolling: bool = False) -> None:
    context = command_context(options)
    hosts = accessory_hosts(context, name)
    if not hosts:
        # Kamal does nothing either (`-r web` drops accessories on dedicated hosts).
        click.echo(f"No hosts of accessory {name} inside the filters: nothing to {action}")
        return
    plan = build_accessory_plan(context, action, name,
                                AccessoryOptions(purge=purge, rolling=rolling))
    report = REPORTS.get(action)
    execute(context, plan, options, output_format,
            report=None if report is None else lambda results: report(hosts, results, options))


# The commands that take only NAME, with their help: one definition registers them all.
_NAME_ONLY_ACTIONS = {
    "boot": "Boot accessory NAME (or all): converge, leave a running one alone, report changes.",
    "reboot": "Reboot accessory NAME (or all): pull its image, then replace its container.",
    "start": "Start the existing container of accessory NAME (or all).",
    "stop": "Stop the container of accessory NAME (or all).",
    "restart": "Restart the container of accessory NAME (or all): stop, then start.",
    "details": "Show details about accessory NAME (or all) on its hosts.",
}


def _name_only_command(action: str, help_text: str) -> None:
    @accessory.command(action, help=help_text)
    @global_options
    @output_option
    @name_argument
    def command(options: GlobalOptions, output_format: str, name: str) -> None:
        _run(action, name, options, output_format)


for _action, _help in _NAME_ONLY_ACTIONS.items():
    _name_only_command(_action, _help)


@accessory.command("remove")
@global_options
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@click.option("--purge", is_flag=True,
              help="Also delete the accessory's data: its directories and named volumes.")
@output_option
@name_argument
def accessory_remove(options: GlobalOptions, confirmed: bool, purge: bool, output_format: str,
                     name: str) -> None:
    """Remove accessory NAME's (or all) container and image; its data only with --purge."""
    data = "and data directories" if purge else "(data directories and volumes are kept)"
    _confirm(confirmed, f"This will remove all containers, images {data} for {name}. "
                        "Are you sure?", "accessory remove")
    _run("remove", name, options, output_format, purge=purge)


@accessory.command("upgrade")
@global_options
@click.option("--rolling", is_flag=True, help="Upgrade one host at a time.")
@click.option("-y", "--confirmed", is_flag=True, help="Proceed without the confirmation question.")
@output_option
@name_argument
def accessory_upgrade(options: GlobalOptions, rolling: bool, confirmed: bool, output_format: str,
                      name: str) -> None:
    """Upgrade accessory NAME (or all) from Kamal 1 (reboot it into the kamal network)."""
    _confirm(confirmed, "This will restart all accessories", "accessory upgrade")
    _run("upgrade", name, options, output_format, rolling=rolling)


@accessory.command("logs")
@global_options
@click.option("-s", "--since", default=None,
              help="Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m).")
@click.option("-n", "--lines", type=int, default=None,
              help="Lines to show from each server (100; all with -s/-g).")
@click.option("-g", "--grep", default=None, help="Show only lines matching this grep pattern.")
@click.option("--grep-options", default=None, help="More options for grep.")
@click.option("-f", "--follow", is_flag=True,
              help="Follow the log on the accessory's first host (or the host given with -h).")
@click.option("-T", "--skip-timestamps", is_flag=True, help="Do not prefix lines with timestamps.")
@output_option
@name_argument
def accessory_logs(options: GlobalOptions, since: str | None, lines: int | None,
                   grep: str | None, grep_options: str | None, follow: bool,
                   skip_timestamps: bool, output_format: str, name: str) -> None:
    """Show log lines from accessory NAME on its hosts."""
    context = command_context(options)
    logs = AccessoryLogsOptions(since=since, lines=lines, grep=grep, grep_options=grep_options,
                                skip_timestamps=skip_timestamps)
    if follow:
        plan = build_accessory_ssh_plan(context, name, "follow_logs", logs=logs)
        _run_over_ssh(context, plan, options, output_format,
                      lambda host: f"Following logs on {host}...")
        return
    plan = build_accessory_logs_plan(context, name, logs)
    hosts = accessory_hosts(context, name)
    execute(context, plan, options, output_format,
            report=lambda results: logs_report(hosts, results, options))


@accessory.command("exec", context_settings={"ignore_unknown_options": True})
@global_options
@click.option("-i", "--interactive", is_flag=True,
              help="Run the command over ssh on the accessory's first host (console, shell).")
@click.option("--reuse", is_flag=True,
              help="Run in the running accessory container instead of a new one.")
@output_option
@name_argument
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
def accessory_exec(options: GlobalOptions, interactive: bool, reuse: bool, output_format: str,
                   name: str, cmd: tuple[str, ...]) -> None:
    """Run CMD in accessory NAME on its hosts (a new container unless --reuse)."""
    context = command_context(options)
    where = "existing" if reuse else "new"
    if interactive:
        kind = "exec_reuse" if reuse else "exec"
        plan = build_accessory_ssh_plan(context, name, kind, command=cmd, tty=stdin_is_tty())
        _run_over_ssh(context, plan, options, output_format, lambda host: (
            f"Launching interactive command via SSH from {where} container on {host}..."))
        return
    plan = build_accessory_exec_plan(context, name, cmd, reuse)
    hosts = accessory_hosts(context, name)
    if not options.quiet and output_format == "human":
        click.echo(f"Launching command from {where} container...")
    execute(context, plan, options, output_format,
            report=lambda results: exec_report(hosts, results, options))


def _confirm(confirmed: bool, question: str, command: str) -> None:
    if confirmed:
        return
    if not can_ask():
        raise UsageError(f"kdeploy {command} needs -y to proceed (there is no terminal to ask on)")
    if not click.confirm(question, default=False):
        click.secho("Aborted", fg="red")
        sys.exit(0)


def _run_over_ssh(context: CommandContext, plan: Plan, options: GlobalOptions, output_format: str,
                  announce: Callable[[str], str]) -> None:
    config = context.config
    host = plan.extravars["kdeploy_accessory_ssh_host"]
    rendered: dict[str, str] = {}

    def report(results: Results) -> tuple[str, dict[str, Any]]:
        msg = results.get(host, {}).get("msg") or {}
        rendered["command"] = str(msg.get("command", ""))
        argv = ssh_argv(config, host, rendered["command"])
        return (f"{announce(host)}\n{' '.join(argv)}",
                {"host": host, "command": rendered["command"], "ssh": argv})

    execute(context, plan, options, output_format, report=report)
    if not rendered.get("command"):
        raise UsageError(f"Could not prepare the command on {host}")
    sys.exit(run_ssh(ssh_argv(config, host, rendered["command"])))


# --- Reports: what each command prints, from its report task's results per host. ---

def _host_order(hosts: Hosts) -> list[str]:
    return list(dict.fromkeys(host for found in hosts.values() for host in found))


def details_report(hosts: Hosts, results: Results,
                   options: GlobalOptions) -> tuple[str, dict[str, Any]]:
    """`accessory details`: `docker ps` under `Accessory <name> Host: <host>` (Kamal's type)."""
    blocks = [(f"Accessory {name}", host, name, output_of(results[host]))
              for name, found in hosts.items() for host in found if host in results]
    return by_host(blocks, options.quiet), {"results": [
        {"accessory": name, "host": host, "output": output} for _, host, name, output in blocks]}


def logs_report(hosts: Hosts, results: Results,
                options: GlobalOptions) -> tuple[str, dict[str, Any]]:
    """`accessory logs`: each host's lines one after the other (Kamal prints no host header)."""
    order = [host for host in _host_order(hosts) if host in results]
    text = "\n".join(output for host in order if (output := output_of(results[host])))
    return text, {"results": [{"host": host, "output": output_of(results[host])}
                              for host in order]}


def exec_report(hosts: Hosts, results: Results,
                options: GlobalOptions) -> tuple[str, dict[str, Any]]:
    """`accessory exec`: the command's output per host (Kamal's `App Host:` header)."""
    order = [host for host in _host_order(hosts) if host in results]
    blocks = [("App", host, None, output_of(results[host])) for host in order]
    return by_host(blocks, options.quiet), {"results": [
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
                options: GlobalOptions) -> tuple[str, dict[str, Any]]:
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
        elif not options.quiet:
            lines.append(f"Skipping booting `{name}` on {host}, it is already running "
                         "with this config")
    return "\n".join(lines), {"accessories": entries}


def remove_report(hosts: Hosts, results: Results,
                  options: GlobalOptions) -> tuple[str, dict[str, Any]]:
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


REPORTS: dict[str, Callable[[Hosts, Results, GlobalOptions], tuple[str, dict[str, Any]]]] = {
    "details": details_report,
    "boot": boot_report,
    "reboot": boot_report,
    "upgrade": boot_report,
    "remove": remove_report,
}
