"""Top-level commands: config, init, version, docs (and, from their own modules, setup, export)."""

from __future__ import annotations

import click

from kdeploy import __version__
from kdeploy.cli import cli


@cli.command()
def version() -> None:
    """Print kdeploy's version."""
    click.echo(__version__)
