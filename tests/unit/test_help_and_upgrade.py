"""`kdeploy help [COMMAND]…` (Thor's `help`) and `kdeploy upgrade` (refused, with what to run)."""

from __future__ import annotations

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


def test_upgrade_takes_kamals_options_and_refuses_with_what_to_run() -> None:
    result = kdeploy("upgrade", "-y", "--rolling", "-d", "staging")
    assert result.exit_code == 2
    assert "Kamal's 1.x to 2.0 migration" in result.output
    assert "kamal upgrade" in result.output
    assert "kdeploy proxy reboot" in result.output


def test_upgrade_rejects_options_kamal_does_not_have() -> None:
    result = kdeploy("upgrade", "--force")
    assert result.exit_code == 2
    assert "No such option" in result.output
