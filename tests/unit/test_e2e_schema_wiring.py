"""Every kdeploy run an e2e test makes has its JSON events checked against schema v1.

`Project.run` checks them (tests/e2e/event_schema.py); a test that starts kdeploy through
`subprocess` itself must check them too, or the contract goes unchecked there.
"""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"
CHECKS = ("validate_events", "event_errors")
# Only `kdeploy sandbox …` runs here: its `status --json` is not an event stream.
SANDBOX_ONLY = ("test_sandbox.py", "test_sandbox_beside_docker.py")
SUBPROCESS = ("run", "Popen", "check_output", "call", "check_call")


def _starts_kdeploy_directly(tree: ast.AST) -> bool:
    # A subprocess.<call>([... "-m", "kdeploy" ...]) anywhere in the module.
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                and node.func.attr in SUBPROCESS and node.args):
            continue
        words = [item.value for item in getattr(node.args[0], "elts", [])
                 if isinstance(item, ast.Constant)]
        if ("-m", "kdeploy") in pairwise(words):
            return True
    return False


def _names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def test_project_run_validates_every_json_run() -> None:
    tree = ast.parse((E2E / "project.py").read_text())
    run = next(node for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef) and node.name == "run")
    assert {"asks_for_json", "validate_events"} <= _names(run)


def test_no_e2e_file_starts_kdeploy_around_the_schema_check() -> None:
    unchecked = []
    for path in sorted(E2E.glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        if path.name in SANDBOX_ONLY:
            assert "--output" not in source, f"{path.name} now runs more than `sandbox`"
            continue
        if _starts_kdeploy_directly(tree) and not set(CHECKS) & _names(tree):
            unchecked.append(path.name)
    assert unchecked == []


def test_the_check_finds_a_direct_run() -> None:
    # The scan above must be able to fail: a direct Popen of kdeploy without a check.
    tree = ast.parse('import subprocess, sys\n'
                     'subprocess.Popen([sys.executable, "-m", "kdeploy", "deploy"])\n')
    assert _starts_kdeploy_directly(tree)
    assert not set(CHECKS) & _names(tree)
