"""Every command a unit test runs through click's CliRunner prints counts in agreement.

The same rule as the e2e tests' (`tests/e2e/grammar.py`, checked in `Project.run`): no
`1 tasks`, no `3 host`, in any command's output, human or JSON.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

_GRAMMAR = Path(__file__).resolve().parents[1] / "e2e" / "grammar.py"


def _load_grammar() -> Any:
    spec = importlib.util.spec_from_file_location("kdeploy_test_grammar", _GRAMMAR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


grammar = _load_grammar()


@pytest.fixture(autouse=True)
def _output_grammar(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    invoke = CliRunner.invoke

    def checked(self: CliRunner, *args: Any, **kwargs: Any) -> Result:
        result = invoke(self, *args, **kwargs)
        slips = grammar.grammar_slips(result.output)
        assert not slips, f"count and noun disagree: {slips}\n{result.output}"
        return result

    monkeypatch.setattr(CliRunner, "invoke", checked)
    yield
