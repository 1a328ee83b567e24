"""`kdeploy secrets fetch|extract|print`: Kamal's `secrets` commands, without Kamal.

`fetch` and `extract` need no config (they are what `.kamal/secrets` calls); `print` loads the
config of `-c/-d` and prints every secret its files define, values included, for debugging.
"""

from __future__ import annotations

import click

from kdeploy.cli import cli
from kdeploy.cli.options import GlobalOptions, global_options
from kdeploy.config.secret_adapters import ADAPTER_NAMES
from kdeploy.config.secret_adapters import commands as secret_commands


@cli.group()
def secrets() -> None:
    """Fetch secrets from a vault, extract one, or print the config's secrets."""


@secrets.command()
@global_options
@click.option("-a", "--adapter", required=True,
              help=f"Which vault adapter to use: {', '.join(ADAPTER_NAMES)}.")
@click.option("--account", default=None, help="The account identifier or username.")
@click.option("--from", "from_", default=None,
              help="A vault or folder to fetch the secrets from.")
@click.option("--inline", is_flag=True, hidden=True,
              help="Print the JSON shell-escaped, as a secrets file's $(...) receives it.")
@click.argument("names", nargs=-1)
def fetch(options: GlobalOptions, adapter: str, account: str | None, from_: str | None,
          inline: bool, names: tuple[str, ...]) -> None:
    """Fetch secrets from a vault and print them as one JSON object."""
    # Thor reads `-a=NAME` as NAME; click keeps the `=`.
    click.echo(secret_commands.fetch(adapter.removeprefix("="), names, account=account,
                                     from_=from_, inline=inline))


@secrets.command()
@global_options
@click.option("--inline", is_flag=True, hidden=True, help="Accepted, as Kamal does.")
@click.argument("name")
@click.argument("secrets_json", metavar="SECRETS")
def extract(options: GlobalOptions, inline: bool, name: str, secrets_json: str) -> None:
    """Extract a single secret from the results of a fetch call."""
    value = secret_commands.extract(name, secrets_json)
    # Ruby's `puts` adds a newline unless the text ends with one.
    click.echo(value, nl=not value.endswith("\n"))


@secrets.command("print")
@global_options
def print_secrets(options: GlobalOptions) -> None:
    """Print the secrets (for debugging): every KEY=value the secrets files define."""
    from kdeploy.config import load_config

    loaded = load_config(options.config_file, options.destination, version=options.version)
    if loaded.secrets is None:
        return
    for name in loaded.secrets.names():
        value = loaded.secrets[name]
        # Ruby's `puts` adds a newline unless the text ends with one.
        click.echo(f"{name}={value}", nl=not value.endswith("\n"))
