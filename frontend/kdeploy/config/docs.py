"""The reference docs under `config/docs/`: printed by `kdeploy docs`, and the validation examples.

The files are Kamal 2.11's `lib/kamal/configuration/docs/*.yml` (MIT, see `docs/NOTICE`), with
the Kamal 2.12 keys kdeploy accepts (`ssh/forward_agent`), plus `x-kdeploy.yml`. Their example
values are the schema (validation.py), so the docs and the checks cannot drift apart.
"""

from __future__ import annotations

import functools
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


def doc_text(section: str) -> str:
    """Return the commented YAML reference for one section."""
    return (DOCS_DIR / f"{section}.yml").read_text(encoding="utf-8")


@functools.cache
def example(section: str) -> dict[str, Any]:
    """Return the parsed example of a section (a repeated key keeps its last example, as Ruby)."""
    return yaml.load(doc_text(section), Loader=_Loader)
