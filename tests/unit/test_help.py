"""`kdeploy help [COMMAND]…` (Thor's `help`)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

import kdeploy.cli as cli_package


def kdeploy(*args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, list(args), prog_name="kdeploy")


@pytest.mark.parametrize("words", [(), ("build",), ("build", "push"), ("registry", "setup")])
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

