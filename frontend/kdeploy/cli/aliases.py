"""Run a config alias (`aliases:` in deploy.yml) as Kamal 2.11 does.

`kdeploy NAME ARGS...`, where NAME is no command, runs the command line of `aliases/NAME` with
ARGS appended (Kamal's `Alias::Command`: `Main.start(Shellwords.split(command) + ARGV[1..])`).
The alias is looked up in the config that `-c`/`-d` among ARGS name, read as Kamal reads it for
this (ERB rendered, the destination merged, nothing validated yet). A command always wins over
an alias of the same name.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from kdeploy.config.load import load_raw_config
from kdeploy.errors import ConfigError, UsageError

_CONFIG_FILE = ("-c", "--config-file")
_DESTINATION = ("-d", "--destination")


def expand_alias(name: str, args: Sequence[str]) -> list[str] | None:
    """The command line alias `name` stands for, `args` appended; None when there is no such alias.

    Args:
        name: the word given where a command was expected.
        args: the words after it (they may hold `-c`/`-d`).

    Raises:
        ConfigError: the config file exists but cannot be read, or the alias is not a string.
        UsageError: the alias's command line cannot be split into words.
    """
    config_file = _option_value(args, _CONFIG_FILE) or "config/deploy.yml"
    if not Path(config_file).is_file():
        return None  # no config, no aliases: click says "No such command"
    raw = load_raw_config(config_file, _option_value(args, _DESTINATION))
    aliases = raw.get("aliases")
    if not isinstance(aliases, dict) or name not in aliases:
        return None
    command = aliases[name]
    if not isinstance(command, str):
        raise ConfigError(f"{config_file}: aliases/{name}: should be a string")
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise UsageError(f"{config_file}: aliases/{name}: {error}: {command}") from None
    return [*words, *args]


def _option_value(args: Sequence[str], names: tuple[str, str]) -> str | None:
    # The last `-c X`, `-cX`, `--config-file X` or `--config-file=X`, as the option parser reads.
    short, long = names
    found = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in names and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(f"{long}="):
            found = arg[len(long) + 1:]
        elif arg.startswith(short) and not arg.startswith("--") and len(arg) > len(short):
            found = arg[len(short):]
    return found
