r"""A secrets file's ``$(kamal secrets ...)`` (or ``$(kdeploy secrets ...)``), run in-process.

Kamal matches the command with ``\A\s*kamal\s*secrets\s+``, splits it as a shell would and
runs its own CLI with ``--inline`` added: Thor's option parsing, options before or after the
names, ``--opt value`` or ``--opt=value``. kdeploy parses the same words the same way.
"""

from __future__ import annotations

import re

from kdeploy.config.secret_adapters import commands
from kdeploy.config.secret_adapters.base import VaultRunner
from kdeploy.config.secret_adapters.ruby_text import shellsplit
from kdeploy.errors import UsageError

_SPACE = r"[ \t\n\v\f\r]"  # Ruby's \s
SECRETS_COMMAND = re.compile(rf"\A{_SPACE}*(?:kamal|kdeploy){_SPACE}*secrets{_SPACE}+")

# Kamal's class options (cli/base.rb): accepted, and of no use to fetch or extract.
_CLASS_VALUES = {"-c", "--config-file", "-d", "--destination", "-r", "--roles", "-h", "--hosts",
                 "--version", "--lock-wait-timeout", "--lock-wait-interval"}
_CLASS_FLAGS = {"-v", "--verbose", "-q", "--quiet", "-p", "--primary", "-H", "--skip-hooks",
                "--lock-wait"}
_FETCH_VALUES = {"-a": "adapter", "--adapter": "adapter", "--account": "account",
                 "--from": "from"}


def is_secrets_command(command: str) -> bool:
    """Whether Kamal would run command in-process rather than in a shell."""
    return SECRETS_COMMAND.match(command) is not None


def run_inline(command: str, run: VaultRunner) -> str:
    """Run ``kamal secrets fetch|extract ...`` as Kamal's ``--inline`` does; return its value.

    Raises:
        UsageError: The command line is not one fetch or extract accepts.
        AdapterError: The vault CLI failed, or extract found nothing.
    """
    try:
        words = shellsplit(command)[2:]
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not words:
        raise UsageError("`secrets` needs a command: fetch or extract")
    action, rest = words[0], words[1:]
    if action == "fetch":
        options, names = _parse(rest, _FETCH_VALUES)
        if options.get("adapter") is None:
            raise UsageError("No value provided for required options '--adapter'")
        return commands.fetch(options["adapter"], names, account=options.get("account"),
                              from_=options.get("from"), inline=True, run=run)
    if action == "extract":
        _, names = _parse(rest, {})
        if len(names) != 2:
            raise UsageError("`secrets extract` takes NAME and SECRETS, "
                             f"not {len(names)} argument{'' if len(names) == 1 else 's'}")
        return commands.extract(names[0], names[1])
    if action == "print":
        raise UsageError("`secrets print` cannot run inside a secrets file")
    raise UsageError(f"Could not find command \"{action}\" in \"secrets\" namespace.")


def _parse(words: list[str], values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Thor's parsing of one command's words: its options anywhere, the rest positional."""
    options: dict[str, str] = {}
    names: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            names += words[index:]
            break
        flag, has_value, attached = word.partition("=")
        if flag in values or flag in _CLASS_VALUES:
            if has_value:
                value = attached
            elif index < len(words) and not words[index].startswith("-"):
                value, index = words[index], index + 1
            else:
                raise UsageError(f"No value provided for option '{_long(flag, values)}'")
            if flag in values:
                options[values[flag]] = value
        elif word in _CLASS_FLAGS or word in ("--inline", "--no-inline", "--skip-inline"):
            continue
        elif word.startswith("-") and word != "-":
            # Not echoed: after variable substitution the word may be a secret's value.
            known = ", ".join(sorted({_long(flag, values) for flag in values}))
            raise UsageError(f"An unknown option was given (known: {known or 'none'})")
        else:
            names.append(word)
    return options, names


def _long(flag: str, values: dict[str, str]) -> str:
    return f"--{values[flag]}" if flag in values else flag
