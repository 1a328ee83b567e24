"""Ruby's string helpers the adapters' messages and command lines depend on, ported exactly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_UNSAFE = re.compile(r"([^A-Za-z0-9_\-.,:+/@\n])")
# Shellwords.shellsplit's scanner, verbatim (Ruby's \s is ASCII whitespace).
_WORD = re.compile(
    r"[ \t\n\v\f\r]*(?:"
    r"([^\0 \t\n\v\f\r\\'\"]+)"  # a bare word
    r"|'([^\0']*)'"  # single-quoted
    r'|"((?:[^\0"\\]|\\[^\0])*)"'  # double-quoted
    r"|(\\[^\0]?)"  # an escaped character
    r"|(\S))"  # an unmatched quote
    r"([ \t\n\v\f\r]|\Z)?",
    re.S,
)
_INSPECT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r",
                    "\f": "\\f", "\v": "\\v", "\b": "\\b", "\a": "\\a", "\x1b": "\\e"}


def shellescape(text: str) -> str:
    """Ruby's ``Shellwords.escape``."""
    if not text:
        return "''"
    return _UNSAFE.sub(r"\\\1", text).replace("\n", "'\n'")


def shellsplit(line: str) -> list[str]:
    """Ruby's ``Shellwords.shellsplit``.

    Raises:
        ValueError: An unmatched quote (its position, not the text).
    """
    words: list[str] = []
    field = ""
    position = 0
    while position < len(line):
        match = _WORD.match(line, position)
        if match is None or match.end() == position:
            break
        word, single, double, escaped, garbage, separator = match.groups()
        if garbage:
            # Ruby shows the rest of the line; it may hold secrets substituted into it.
            raise ValueError(f"Unmatched quote at {match.start()}")
        if word is not None:
            field += word
        elif single is not None:
            field += single
        elif double is not None:
            field += re.sub(r'\\([$`"\\\n])', r"\1", double)
        elif escaped is not None:
            field += re.sub(r"\\(.)", r"\1", escaped, flags=re.S)
        if separator is not None:
            words.append(field)
            field = ""
        position = match.end()
    return words


def inspect(text: str) -> str:
    r"""Ruby's ``String#inspect`` of UTF-8 text: quoted; ``"``, ``\\`` and controls escaped."""
    out = []
    for index, char in enumerate(text):
        if char in _INSPECT_ESCAPES:
            out.append(_INSPECT_ESCAPES[char])
        elif char == "#" and text[index + 1 : index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def inspect_list(items: Iterable[str]) -> str:
    """Ruby's ``Array#inspect`` of strings: ``["a", "b"]``."""
    return "[" + ", ".join(inspect(item) for item in items) + "]"


def split(text: str, separator: str, limit: int = 0) -> list[str]:
    """Ruby's ``String#split(separator[, limit])``: trailing empty fields dropped (no limit)."""
    if not text:
        return []
    parts = text.split(separator, limit - 1) if limit > 0 else text.split(separator)
    if limit <= 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def json_dump(value: Any) -> str:
    """Ruby's ``JSON.dump``: compact, UTF-8 kept as it is, controls escaped."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def blank(value: Any) -> bool:
    """ActiveSupport's ``blank?`` for what adapters see: None, False, whitespace, empty."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value.strip(" \t\n\v\f\r\0\u3000") == ""
    if isinstance(value, (list, dict, tuple)):
        return not value
    return False
