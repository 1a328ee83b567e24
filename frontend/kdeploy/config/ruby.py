"""Ruby's notions that Kamal's checks rely on: type names, stringish scalars, truthiness."""

from __future__ import annotations

import datetime
from typing import Any

# Kamal's type names, in the order Ruby's `type_description` words them.
STRING, INTEGER, FLOAT, BOOLEAN, ARRAY, HASH, NIL, SYMBOL = (
    "string", "integer", "float", "boolean", "array", "hash", "nil", "symbol",
)
DESCRIPTIONS = {
    STRING: "a string", INTEGER: "an integer", FLOAT: "a float", BOOLEAN: "a boolean",
    ARRAY: "an array", HASH: "a hash", NIL: "a nilclass", SYMBOL: "a symbol",
}


def kind_of(value: Any) -> str:
    """Return Kamal's type name for a parsed YAML value."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return ARRAY
    if isinstance(value, dict):
        return HASH
    if value is None:
        return NIL
    return type(value).__name__.lower()


def is_stringish(value: Any) -> bool:
    """Ruby's `stringish?`: strings, numbers and booleans pass where a string is expected."""
    return isinstance(value, (str, int, float)) and not isinstance(value, datetime.date)


def present(value: Any) -> bool:
    """Ruby's `present?`: nil, false, blank strings and empty collections are absent."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict, tuple)):
        return bool(value)
    return True


def truthy(value: Any) -> bool:
    """Ruby truthiness: everything but nil and false (0, "" and [] are true)."""
    return value is not None and value is not False


def is_extension(key: Any) -> bool:
    """Root keys starting with `x-` are extensions (ignored by Kamal, `x-kdeploy` is ours)."""
    return str(key).startswith("x-")


def valid_kind(value: Any, kind: str) -> bool:
    """Whether `value` passes where Kamal expects `kind` (any scalar passes for a string)."""
    if kind == STRING:
        return is_stringish(value)
    return kind_of(value) == kind
