"""The import graph of frontend/kdeploy: no cycle, and no import from a lower layer to a higher one.

The layers, lowest first, are the ```layers block of docs/architecture.md: the allowed direction
is written there once, and this test reads it. A module may import its own layer and any layer
below it. Every import counts: at module level, inside a function, and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "frontend" / "kdeploy"
ROOT = "kdeploy"


@functools.cache
def layers() -> list[tuple[str, tuple[str, ...]]]:
    """The layers of docs/architecture.md, lowest first: (name, module prefixes)."""
    text = (REPO / "docs" / "architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    rows = [line.split(":", 1) for line in block.group(1).splitlines() if line.strip()]
    return [(name.strip(), tuple(p.strip() for p in prefixes.split(",") if p.strip()))
            for name, prefixes in rows]


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package that `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import module` imports that module, not only the package.
            targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                        for alias in node.names}
    found = set()
    for target in targets:
        while target not in known and "." in target:
            target = target.rpartition(".")[0]
        if target in known and target != name:
            found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def layer_of(module: str) -> int | None:
    """The index of the module's layer: the longest prefix that names it (None: no layer).

    The package itself (`kdeploy`) names only its own `__init__`, never everything below it.
    """
    named = [(len(prefix), index) for index, (_, prefixes) in enumerate(layers())
             for prefix in prefixes
             if module == prefix or (prefix != ROOT and module.startswith(prefix + "."))]
    return max(named)[1] if named else None


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    assert sorted(name for name in modules() if layer_of(name) is None) == []


def test_no_import_cycle() -> None:
    assert sorted(map(sorted, cycles(graph()))) == []


def test_no_import_runs_up_a_layer() -> None:
    upward = {(source, target) for source, targets in graph().items() for target in targets
              if (layer_of(target) or 0) > (layer_of(source) or 0)}
    assert upward == set()


def test_only_the_cli_imports_the_sandbox() -> None:
    importers = {source for source, targets in graph().items()
                 if any(t == "kdeploy.sandbox" or t.startswith("kdeploy.sandbox.") for t in targets)
                 and not source.startswith("kdeploy.sandbox")}
    assert {source for source in importers if not source.startswith("kdeploy.cli")} == set()


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [{"a", "b"}]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}}, [{"a", "b", "c"}]),
])
def test_cycles_finds_exactly_the_loops(edges: dict[str, set[str]],
                                        expected: list[set[str]]) -> None:
    assert cycles(edges) == expected


def test_an_upward_import_is_seen(tmp_path: Path) -> None:
    # The walk must see an import inside a function and one named through `from pkg import mod`.
    source = tmp_path / "kdeploy" / "plan" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from kdeploy import cli\n    from ..run import runner\n")
    known = {"kdeploy.plan.x": source, "kdeploy.cli": tmp_path, "kdeploy.run.runner": tmp_path,
             "kdeploy.run": tmp_path}
    assert imports("kdeploy.plan.x", source, known) == {"kdeploy.cli", "kdeploy.run.runner"}
