"""The reference docs under `config/docs/`: printed by `kdeploy docs`, and the validation examples.

The files are Kamal 2.11's `lib/kamal/configuration/docs/*.yml` (MIT, see `docs/NOTICE`), with
the Kamal 2.12 keys kdeploy accepts (`ssh/forward_agent`), plus `x-kdeploy.yml`. Their example
values are the schema (validation.py), so the docs and the checks cannot drift apart. The files
stay as Kamal wrote them; `kdeploy docs` prints the commands they name as kdeploy's
(`kamal accessory boot` -> `kdeploy accessory boot`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

DOCS_DIR = Path(__file__).resolve().parent / "docs"

# `kdeploy docs SECTION` names, in Kamal's order, plus our extension.
SECTIONS = (
    "accessory", "alias", "boot", "builder", "configuration", "env", "logging", "proxy",
    "registry", "role", "servers", "ssh", "sshkit", "x-kdeploy",
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Kamal's commands, and `console`, the alias its alias docs define. Only a command invocation is
# reworded: "Kamal will ..." describes the config's semantics, which kdeploy keeps, and
# `kamal-proxy` or `.kamal/` are names on the hosts. A `$(kamal secrets ...)` line of a secrets
# file stays: kdeploy runs it itself, and the file keeps working with Kamal.
_COMMANDS = (
    "accessory", "app", "audit", "build", "config", "console", "deploy", "details", "docs", "help",
    "init", "lock", "proxy", "prune", "redeploy", "registry", "remove", "rollback", "secrets",
    "server", "setup", "upgrade", "version",
)
_KAMAL_COMMAND = re.compile(rf"(?<![\w/.-])(?<!\$\()(?:bin/)?kamal(?= (?:{'|'.join(_COMMANDS)})\b)")


def doc_text(section: str) -> str:
    """Return the commented YAML reference for one section, as Kamal wrote it."""
    return (DOCS_DIR / f"{section}.yml").read_text(encoding="utf-8")


def shown_text(section: str) -> str:
    """Return the reference for one section as `kdeploy docs` shows it: commands are kdeploy's."""
    return in_kdeploy_words(doc_text(section))


def in_kdeploy_words(text: str) -> str:
    """Name kdeploy where a text tells the reader to run a Kamal command (`bin/kamal app ...`)."""
    return _KAMAL_COMMAND.sub("kdeploy", text)


@functools.cache
def example(section: str) -> dict[str, Any]:
    """Return the parsed example of a section (a repeated key keeps its last example, as Ruby)."""
    return yaml.load(doc_text(section), Loader=_Loader)
