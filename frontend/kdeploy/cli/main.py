"""Top-level commands: config, init, version, docs, help (setup, export, upgrade: own modules)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from kdeploy import __version__
from kdeploy.cli import cli
from kdeploy.cli.group_help import command_help
from kdeploy.cli.options import GlobalOptions, global_options, output_option
from kdeploy.errors import UsageError
from kdeploy.events import envelope


@cli.command()
def version() -> None:
    """Print kdeploy's version."""
    click.echo(__version__)


@cli.command("config")
@global_options
@click.option("-P", "--skip-push", is_flag=True,
              help="Check as for `deploy -P`: the image is built elsewhere (no build checks).")
@output_option
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
def config_command(options: GlobalOptions, skip_push: bool, output_format: str,
                   as_json: bool) -> None:
    """Check the config as a deploy would, then show it (secrets by name only; -q: nothing).

    `--output json` prints the filtered selection as one `config` event (`--json` is its old
    name); a refusal is an `error` event there.
    """
    # No Ansible import on this path: `kdeploy config` must stay cheap.
    from kdeploy.cli.config_checks import check_config
    from kdeploy.cli.options import command_context

    context = command_context(options)
    config, selection = context.config, context.selection
    check_config(context, skip_push=skip_push, skip_hooks=options.skip_hooks)
    if options.quiet:
        return
    if as_json or output_format == "json":
        fields = {**_selection_summary(config, selection), "checks": "passed", "exit_code": 0}
        click.echo(json.dumps(envelope("config", 1, fields)))
    else:
        import yaml

        from kdeploy.host_contract.config_view import config_view

        click.echo(yaml.safe_dump(config_view(config, redact=True), sort_keys=False), nl=False)


def _selection_summary(config: Any, selection: Any) -> dict[str, Any]:
    # In `kamal config`'s order: roles by name, hosts as Kamal lists them (role by role in name
    # order, then the accessories'). The selection itself puts the primary role first.
    roles = sorted(selection.role_names)
    selected = set(selection.hosts)
    return {
        "roles": roles,
        "hosts": [host for host in config.all_hosts if host in selected],
        "primary_host": selection.primary_host,
        "version": config.version,
        "repository": config.repository,
        "absolute_image": config.absolute_image if config.version else None,
        "service_with_version": config.service_with_version,
        "role_hosts": {name: list(selection.role_hosts[name]) for name in roles},
        "accessory_hosts": {name: list(hosts) for name, hosts in selection.accessory_hosts.items()},
    }


@cli.command()
def init() -> None:
    """Create config/deploy.yml, .kamal/secrets and sample hooks (existing files are kept)."""
    templates = Path(__file__).resolve().parent.parent / "config" / "templates"
    deploy_file = Path("config/deploy.yml")
    if deploy_file.exists():
        click.echo("Config file already exists in config/deploy.yml "
                   "(remove first to create a new one)")
    else:
        _copy(templates / "deploy.yml", deploy_file)
        click.echo("Created configuration file in config/deploy.yml")
    secrets_file = Path(".kamal/secrets")
    if secrets_file.exists():
        click.echo("Secrets file already exists in .kamal/secrets")
    else:
        _copy(templates / "secrets", secrets_file)
        click.echo("Created .kamal/secrets file")
    hooks_dir = Path(".kamal/hooks")
    if hooks_dir.exists():
        click.echo("Hooks directory already exists in .kamal/hooks")
    else:
        hooks_dir.mkdir(parents=True)
        for sample in sorted((templates / "sample_hooks").iterdir()):
            shutil.copy2(sample, hooks_dir / sample.name)
            (hooks_dir / sample.name).chmod(0o755)
        click.echo("Created sample hooks in .kamal/hooks")


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


@cli.command()
@click.argument("topic", required=False)
@click.option("--list", "list_topics", is_flag=True,
              help="List the config reference sections and the guides.")
def docs(topic: str | None, list_topics: bool) -> None:
    """Show the config reference (all of it, or one section) or one of kdeploy's guides.

    TOPIC is a section of the config reference (`kdeploy docs proxy`, as in Kamal) or a guide
    (`kdeploy docs deploy`, `kdeploy docs differences`); `--list` names them all.
    """
    from kdeploy import guides
    from kdeploy.config.docs import SECTIONS, shown_text

    if list_topics:
        click.echo("Config reference (kdeploy docs SECTION):")
        click.echo("".join(f"  {name}\n" for name in SECTIONS), nl=False)
        click.echo("Guides (kdeploy docs TOPIC):")
        click.echo("".join(f"  {name:24} {title}\n" for name, title in guides.topics().items()),
                   nl=False)
        return
    if topic is None:
        click.echo("\n".join(shown_text(name) for name in SECTIONS), nl=False)
        return
    if topic in SECTIONS:
        click.echo(shown_text(topic), nl=False)
        if topic in guides.topics():
            click.echo(f"# The guide of the same name: kdeploy docs {topic}.md")
        return
    guide = guides.guide_text(topic)
    if guide is None:
        raise UsageError(f"No documentation found for {topic}, choose a config section "
                         f"({', '.join(SECTIONS)}) or a guide ({', '.join(guides.topics())})")
    click.echo(guide, nl=False)


@cli.command("help")
@click.argument("words", nargs=-1, metavar="[COMMAND]...")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Describe available commands or one specific command (`kdeploy COMMAND --help`)."""
    click.echo(command_help(ctx.find_root(), words))
