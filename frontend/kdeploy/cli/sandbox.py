"""`kdeploy sandbox up|status|down`: local hosts to try kdeploy and test configs without servers."""

from __future__ import annotations

import json
import time

import click

from kdeploy import sandbox as api
from kdeploy.cli import cli
from kdeploy.sandbox import example
from kdeploy.sandbox.layout import DEFAULT_HOSTS, DEFAULT_SUBNET


@cli.group()
def sandbox() -> None:
    """Run hosts on this machine (namespaces + sshd + dockerd each) and a registry."""


@sandbox.command()
@click.option("--hosts", "count", type=click.IntRange(1, 200), default=DEFAULT_HOSTS,
              show_default=True, help="How many hosts.")
@click.option("--subnet", default=DEFAULT_SUBNET, show_default=True,
              help="Private IPv4 network for the bridge and the hosts.")
def up(count: int, subnet: str) -> None:
    """Build the sandbox (a no-op when it already runs with the same hosts)."""
    started = time.monotonic()
    info = api.up(hosts=count, subnet=subnet, say=click.echo)
    for host in info.hosts:
        click.echo(f"    {host.name}  {host.address}")
    click.echo(f"Registry: {info.registry}  SSH key: {info.key_path}")
    click.echo(example.usage(info.example_dir))
    click.echo(f"Ready in {time.monotonic() - started:.1f}s")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Show hosts, addresses, whether each sshd and dockerd is alive, and firewall trouble."""
    info = api.status()
    if as_json:
        click.echo(json.dumps(info.to_dict() if info else {"running": False}, indent=2))
        return
    if info is None:
        click.echo("No sandbox (run `kdeploy sandbox up`).")
        return
    click.echo(f"Sandbox {info.root}: {'healthy' if info.healthy else 'NOT healthy'} "
               f"({info.phase}), registry {info.registry} "
               f"{'alive' if info.registry_alive else 'dead'}")
    for host in info.hosts:
        click.echo(f"    {host.name}  {host.address}  sshd {_alive(host.sshd_alive)}  "
                   f"dockerd {_alive(host.dockerd_alive)}")
    for warning in info.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)


@sandbox.command()
def down() -> None:
    """Remove every process, namespace, link and file of the sandbox (keeps the image cache)."""
    api.down(say=click.echo)
    click.echo("Sandbox removed.")


def _alive(flag: bool) -> str:
    return "alive" if flag else "dead"
