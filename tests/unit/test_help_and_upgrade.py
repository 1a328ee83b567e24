"""`kdeploy help [COMMAND]…` and `kdeploy GROUP help [SUBCOMMAND]` (Thor's); `kdeploy upgrade`'s
options (its runs: tests/unit/cli/test_upgrade_command.py)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner, Result

import kdeploy.cli as cli_package


def kdeploy(*args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, list(args), prog_name="kdeploy")


@pytest.mark.parametrize("words", [(), ("build",), ("build", "push"), ("registry", "setup"),
                                   ("upgrade",)])
def test_help_is_the_commands_own_help(words: tuple[str, ...]) -> None:
    shown = kdeploy("help", *words)
    assert shown.exit_code == 0, shown.output
    assert shown.output == kdeploy(*words, "--help").output
    assert shown.output.startswith(f"Usage: {' '.join(['kdeploy', *words])} ")


@pytest.mark.parametrize("words", [("nope",), ("build", "nope"), ("version", "extra")])
def test_help_for_an_unknown_command_exits_2_in_thors_words(words: tuple[str, ...]) -> None:
    result = kdeploy("help", *words)
    assert result.exit_code == 2
    assert f'Could not find command "{" ".join(words)}".' in result.output
    assert "Traceback" not in result.output


def _groups() -> list[tuple[str, click.Group]]:
    cli_package._register_commands()
    return sorted((name, command) for name, command in cli_package.cli.commands.items()
                  if isinstance(command, click.Group))


GROUPS = [name for name, _ in _groups()]


def test_every_group_has_its_own_help() -> None:
    # Kamal's groups, and kdeploy's own (sandbox): none may lack it.
    assert {"accessory", "app", "build", "lock", "proxy", "prune", "registry", "secrets",
            "server", "sandbox"} <= set(GROUPS)
    for name, group in _groups():
        assert "help" in group.commands, name


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_of_each_subcommand_is_its_own_help(group: str) -> None:
    subcommands = [name for name in dict(_groups())[group].commands if name != "help"]
    assert subcommands, group
    for name in subcommands:
        shown = kdeploy(group, "help", name)
        assert shown.exit_code == 0, shown.output
        assert shown.output == kdeploy(group, name, "--help").output
        assert shown.output.startswith(f"Usage: kdeploy {group} {name} ")


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_without_a_subcommand_is_the_groups_help(group: str) -> None:
    shown = kdeploy(group, "help")
    assert shown.exit_code == 0, shown.output
    assert shown.output == kdeploy(group, "--help").output
    assert shown.output.startswith(f"Usage: kdeploy {group} ")
    assert "help" in shown.output  # listed among the subcommands


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_for_an_unknown_subcommand_exits_2_naming_it(group: str) -> None:
    result = kdeploy(group, "help", "nope")
    assert result.exit_code == 2
    assert f'Could not find command "nope" in "{group}" namespace.' in result.output
    assert "Traceback" not in result.output


def test_group_help_takes_one_subcommand_and_the_top_help_reaches_it_too() -> None:
    assert kdeploy("build", "help", "push", "extra").exit_code == 2
    assert kdeploy("help", "accessory", "help").output == kdeploy(
        "accessory", "help", "--help").output


def test_upgrade_rejects_options_kamal_does_not_have() -> None:
    result = kdeploy("upgrade", "--force")
    assert result.exit_code == 2
    assert "No such option" in result.output
