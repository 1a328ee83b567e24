"""The project's own documentation (`docs/*.md`), which `kdeploy docs TOPIC` shows.

The wheel carries the files as `kdeploy/guides/` (hatch_build.py); an editable install and the
tests read the repository's `docs/`, so the shown text is always the one next to the code.
"""

from __future__ import annotations

import re
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_DOCS = _PACKAGE_DIR.parent.parent / "docs"
_HEADING = re.compile(r"^#\s+(.+)$", re.M)


def guides_dir() -> Path:
    """The directory of the guides: the wheel's copy, else the source tree's `docs/`."""
    installed = _PACKAGE_DIR / "guides"
    return installed if installed.is_dir() else _SOURCE_DOCS


def topics() -> dict[str, str]:
    """Every guide by topic name (its file name without `.md`), with its title, sorted."""
    found = {}
    for path in sorted(guides_dir().glob("*.md"), key=lambda path: path.stem):
        heading = _HEADING.search(path.read_text(encoding="utf-8"))
        found[path.stem] = heading.group(1).strip() if heading else path.stem
    return found


def guide_text(topic: str) -> str | None:
    """The Markdown of one guide (`deploy` or `deploy.md`), or None when there is no such guide."""
    name = topic.removesuffix(".md")
    if name not in topics():
        return None
    return (guides_dir() / f"{name}.md").read_text(encoding="utf-8")
