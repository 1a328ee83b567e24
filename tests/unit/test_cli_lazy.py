"""A command line imports only its command's module (kdeploy/cli/__init__.py, COMMANDS_BY_MODULE).

Each module is imported alone in a fresh Python, so what it registers is its own and its
imports', never a module an earlier test imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click.testing
import pytest

import kdeploy.cli as cli_package

# Every command's subcommands (with a group's `help`), as the module the table names registers
# them, printed as JSON by a fresh Python.
REGISTERED = """
import importlib, json, sys
import click
from kdeploy.cli import cli
importlib.import_module("kdeploy.cli." + sys.argv[1])
print(json.dumps({name: sorted(getattr(command, "commands", {}))
                  for name, command in cli.commands.items()}))
"""


def _all_commands() -> dict[str, list[str]]:
    cli_package._register_commands()
    return {name: sorted(getattr(command, "commands", {}))
            for name, command in cli_package.cli.commands.items()}


def test_the_table_names_every_command_once() -> None:
    names = [name for names in cli_package.COMMANDS_BY_MODULE.values() for name in names]
    assert sorted(names) == sorted(_all_commands())
    assert len(names) == len(set(names))


@pytest.mark.parametrize("module", list(cli_package.COMMANDS_BY_MODULE))
def test_a_modules_import_registers_its_commands_whole(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", REGISTERED, module], capture_output=True,
                            text=True, timeout=120, check=True)
    registered = json.loads(result.stdout)
    everything = _all_commands()
    for name in cli_package.COMMANDS_BY_MODULE[module]:
        # `app` alone would lack `boot`, which deploy.py adds: the table names deploy for it.
        assert registered.get(name) == everything[name], name


def test_a_command_line_imports_its_module_only_and_help_imports_all() -> None:
    script = """
import sys
from click.testing import CliRunner
from kdeploy.cli import cli
CliRunner().invoke(cli, sys.argv[1:], catch_exceptions=False)
print(" ".join(sorted(name for name in sys.modules if name.startswith("kdeploy.cli."))))
"""
    def cli_modules(*args: str) -> set[str]:
        result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                                text=True, timeout=120, check=True)
        return set(result.stdout.strip().splitlines()[-1].split())

    version = cli_modules("version")
    assert "kdeploy.cli.main" in version
    assert not version & {"kdeploy.cli.sandbox", "kdeploy.cli.deploy", "kdeploy.cli.proxy"}
    assert {f"kdeploy.cli.{module}" for module in cli_package.COMMAND_MODULES} <= cli_modules(
        "--help")


def test_an_unknown_command_is_still_refused_by_name() -> None:
    result = click.testing.CliRunner().invoke(cli_package.cli, ["nosuch"])
    assert result.exit_code == 2
    assert "No such command 'nosuch'" in result.output
