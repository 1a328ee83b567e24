"""Parse a Kamal secrets file the way Kamal 2.11 does (dotenv gem 3.2, ``overwrite: true``).

The rules are ported from ``dotenv/parser.rb`` and ``dotenv/substitutions/variable.rb`` and
from Kamal's ``secrets/dotenv/inline_command_substitution.rb``, which replaces dotenv's own
command substitution. Where dotenv silently keeps a broken line (an unterminated quote, a line
that is not ``KEY=value``), kdeploy stops with the file and line instead: such a file is almost
always a typo, and a half-parsed secret would be deployed without anyone noticing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial

from kdeploy.errors import ConfigError

# dotenv's Parser::LINE, verbatim. It is scanned over the whole text (not line by line), so a
# double-quoted value may span lines and leading blank lines belong to the next match.
_LINE = re.compile(
    r"""
    (?:^|\A)
    \s*
    (?P<export>export\s+)?
    (?P<key>[\w.]+)
    (?:
      (?:\s*=\s*?|:\s+?)
      (?P<value>
        \s*'(?:\\'|[^'])*'
        |
        \s*"(?:\\"|[^"])*"
        |
        [^\#\n]+
      )?
    )?
    \s*
    (?:\#.*)?
    (?:$|\Z)
    """,
    re.VERBOSE | re.MULTILINE | re.ASCII,
)
_QUOTED = re.compile(r"\A(['\"])(.*)\1\Z", re.DOTALL)
# dotenv's Substitutions::Variable; /i in Ruby, ASCII so Python does not fold non-ASCII letters.
_VARIABLE = re.compile(r"(\\)?(\$)(?!\()\{?([A-Z0-9_]+)?\}?", re.IGNORECASE | re.ASCII)
# Ruby's String#strip set (Python's strip() would also eat Unicode spaces).
_RUBY_SPACE = " \t\n\v\f\r\0"

RunCommand = Callable[[str], str]
# Told, before a command runs, where it is (`.kamal/secrets:3 (KEY)`) and its text as written:
# variables not yet substituted, so no earlier secret shows (`-v` prints it).
Announce = Callable[[str, str], None]


class CommandFailed(Exception):
    """Raised by a command runner; the parser adds the file and line."""


class _BadValue(Exception):
    """A value dotenv would keep verbatim but kdeploy rejects; the parser adds file and line."""


def parse_dotenv(
    text: str, filename: str, environ: Mapping[str, str], run_command: RunCommand,
    announce: Announce | None = None,
) -> dict[str, str]:
    """Parse one secrets file into a dict, in file order.

    Args:
        text: The file's content.
        filename: The name to show in errors (as the user wrote it, e.g. ``.kamal/secrets``).
        environ: The process environment, the fallback for ``$VAR`` (dotenv's ``ENV``).
        run_command: Runs the text of a ``$(...)`` and returns its output, chomped; raises
            CommandFailed on failure.
        announce: Called before each command runs with its place and its text as written.

    Returns:
        The values defined by this file. Only earlier lines of the same file are visible to
        ``$VAR``, as in Kamal, which parses each secrets file on its own.

    Raises:
        ConfigError: A line is not ``KEY=value``, a quote is not closed, ``export KEY`` names
            an unset key, or a command failed.
    """
    text = re.sub(r"\r\n?", "\n", text)
    values: dict[str, str] = {}
    position = 0
    for match in _LINE.finditer(text):
        _check_gap(text, position, match.start(), filename)
        position = match.end()
        line = text.count("\n", 0, match.start("key")) + 1
        key = match["key"]
        if match["export"] and match["value"] is None:
            if key not in values:
                raise ConfigError(
                    f"{filename}:{line}: `export {key}` without a value, but "
                    f"{key} is not set earlier in the file"
                )
            continue
        told = partial(announce, f"{filename}:{line} ({key})") if announce else None
        try:
            values[key] = _parse_value(match["value"] or "", values, environ, run_command, told)
        except (CommandFailed, _BadValue) as error:
            raise ConfigError(f"{filename}:{line}: {key}: {error}") from None
    _check_gap(text, position, len(text), filename)
    return values


def _check_gap(text: str, start: int, end: int, filename: str) -> None:
    """Between two parsed lines only blank lines and comments may stand (dotenv skips all)."""
    first_line = text.count("\n", 0, start) + 1
    for offset, line in enumerate(text[start:end].split("\n")):
        stripped = line.strip(_RUBY_SPACE)
        if stripped and not stripped.startswith("#"):
            # The line is not echoed: it may well hold a secret.
            raise ConfigError(f"{filename}:{first_line + offset}: not a KEY=value line")


def _parse_value(
    raw: str, values: Mapping[str, str], environ: Mapping[str, str], run_command: RunCommand,
    announce: Callable[[str], None] | None = None,
) -> str:
    """Dotenv's Parser#parse_value: unquote, unescape, then substitute commands and vars."""
    value = raw.strip(_RUBY_SPACE)
    quoted = _QUOTED.match(value)
    quote = quoted[1] if quoted else None
    if quoted:
        value = quoted[2]
    elif value[:1] in ("'", '"'):
        raise _BadValue("unterminated quote (or text after the closing quote)")
    if quote == '"':
        value = _expand_newlines(value, values, environ)
    if quote == "'":
        return value
    value = re.sub(r"\\([^$])", r"\1", value)
    value = substitute_commands(value, values, environ, run_command, announce)
    return substitute_variables(value, values, environ)


def _expand_newlines(value: str, values: Mapping[str, str], environ: Mapping[str, str]) -> str:
    r"""Dotenv 3 keeps ``\n`` in double quotes literal unless DOTENV_LINEBREAK_MODE=legacy."""
    mode = values.get("DOTENV_LINEBREAK_MODE")
    if mode is None:
        mode = environ.get("DOTENV_LINEBREAK_MODE")
    if mode == "legacy":
        return value.replace("\\n", "\n").replace("\\r", "\r")
    # Doubling the backslash survives the unescape step as a literal backslash-n.
    return value.replace("\\n", "\\\\n").replace("\\r", "\\\\r")


def substitute_variables(value: str, values: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """Replace ``$VAR`` and ``${VAR}``: earlier lines first, then the environment, else ""."""

    def replace(match: re.Match[str]) -> str:
        if match[1]:
            return match[0][1:]
        if match[3] is None:
            return match[0]
        # Ruby's `a || b`: an empty string is a value, only nil falls through.
        found = values.get(match[3])
        if found is None:
            found = environ.get(match[3])
        return "" if found is None else found

    return _VARIABLE.sub(replace, value)


def substitute_commands(
    value: str, values: Mapping[str, str], environ: Mapping[str, str], run_command: RunCommand,
    announce: Callable[[str], None] | None = None,
) -> str:
    r"""Replace each ``$(command)`` with its output; ``\$(...)`` stays, minus the backslash.

    `announce` is told each command's text before variables are substituted into it.
    """
    out: list[str] = []
    i = 0
    while i < len(value):
        escaped = value.startswith("\\$(", i)
        dollar = i + 1 if escaped else i
        end = _group_end(value, dollar + 1) if value.startswith("$(", dollar) else None
        if end is None:
            out.append(value[i])
            i += 1
            continue
        if escaped:
            out.append(value[dollar:end])
        else:
            written = value[dollar + 2 : end - 1]
            if announce:
                announce(written)
            out.append(run_command(substitute_variables(written, values, environ)))
        i = end
    return "".join(out)


def _group_end(text: str, start: int) -> int | None:
    r"""End of the balanced ``( ... )`` at start, as Kamal's ``\((?:\\.|[^()\\]|\g<cmd>)+\)``."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == ")":
            # The `+` in the pattern: "()" is not a command.
            return i + 1 if i > start + 1 else None
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] == "\n":
                return None
            i += 2
        elif char == "(":
            inner = _group_end(text, i)
            if inner is None:
                return None
            i = inner
        else:
            i += 1
    return None
