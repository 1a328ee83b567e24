"""Every relative link in README.md and docs/*.md reaches a file, and its #anchor a heading.

`kdeploy docs TOPIC` shows these pages, and the wheel carries them: a broken link is a defect the
reader meets, not a cosmetic one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\((?!https?://|mailto:)([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(heading) for heading in HEADING.findall(text)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_reach_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for link in links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no file {path.relative_to(REPO)}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(REPO)}")
    assert broken == []


def test_the_slug_is_githubs() -> None:
    assert slug("Waiting for the lock: `--lock-wait`") == "waiting-for-the-lock---lock-wait"
    assert slug("Where kdeploy differs from Kamal 2.11") == "where-kdeploy-differs-from-kamal-211"
    assert slug("Data safety (differs from Kamal)") == "data-safety-differs-from-kamal"
