# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Kamal's env file (Kamal::EnvFile): the bytes kdeploy writes on a host for a role or accessory.

Used by the modules release and container_state. The bytes must stay what the role templates
wrote before this file existed: a different env file makes every container look stale.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Ruby's String#dump names these control characters; the others become \xHH.
NAMED_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 27: "e"}
CONTROL_CODES = [*range(1, 32), 127]


def escape_value(value):
    r"""One value as Kamal writes it: Ruby's String#dump without the quotes.

    \" and \# are unescaped again (Docker reads quotes literally); non-ASCII characters stay
    as they are.
    """
    out = value if isinstance(value, str) else str(value)
    out = out.replace("\\", "\\\\")
    for code in CONTROL_CODES:
        out = out.replace(chr(code), "\\" + NAMED_ESCAPES.get(code, "x%02X" % code))
    return out


def render(secrets):
    """The env file for secrets (KEY -> value, in order): one KEY=value line each.

    An empty env file holds one newline.
    """
    if not secrets:
        return "\n"
    return "".join("%s=%s\n" % (key, escape_value(value)) for key, value in secrets.items())
