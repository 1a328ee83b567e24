"""Plural agreement in what kdeploy prints: never `1 tasks`, never `3 host`.

`Project.run` checks the output of every kdeploy command an e2e test runs; the unit tests check
the human output of the recorded runner events with the same rules (tests/unit/test_grammar.py).
"""

from __future__ import annotations

import re

_NOUNS = "task|host|container|role|second|playbook"
# A count is a number on its own: not the end of an address (10.0.0.1) or a version (v2).
_COUNT = r"(?<![\w.:/-])"
_ONE_WITH_PLURAL = re.compile(rf"{_COUNT}1 (?:more |other )?(?:{_NOUNS})s\b")
_MANY_WITH_SINGULAR = re.compile(rf"{_COUNT}(?:0|[2-9]|[1-9]\d+) (?:more |other )?(?:{_NOUNS})\b")


def grammar_slips(text: str) -> list[str]:
    """The phrases of `text` whose count and noun disagree (`1 tasks`, `2 host`)."""
    return [match.group(0) for pattern in (_ONE_WITH_PLURAL, _MANY_WITH_SINGULAR)
            for match in pattern.finditer(text)]
