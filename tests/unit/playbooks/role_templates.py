"""Read a role the way Ansible will: its argument specs, defaults, and every Jinja expression.

`role_reads(role_dir)` answers "which variables does this role read, and which of them only
behind `| default(...)` or `is defined`", so a test can tell an input the argument check must
require from one the role copes without.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
import yaml

# Task keys whose string values are bare Jinja expressions (no braces).
CONDITIONALS = frozenset({"when", "failed_when", "changed_when", "until", "that"})
# Names Ansible defines in every play: magic variables and what the role machinery sets.
MAGIC = frozenset({
    "inventory_hostname", "inventory_hostname_short", "ansible_check_mode", "ansible_diff_mode",
    "role_path", "role_name", "groups", "group_names", "hostvars", "ansible_play_hosts",
    "ansible_play_hosts_all", "ansible_play_batch", "play_hosts", "omit", "item", "ansible_loop",
    "ansible_facts", "ansible_host", "ansible_user", "ansible_become", "ansible_run_tags",
    "ansible_skip_tags", "ansible_parent_role_names", "ansible_role_names", "ansible_limit",
    "ansible_version", "ansible_index_var", "playbook_dir", "inventory_dir",
    # Ansible's template globals.
    "lookup", "query", "q", "now", "undef",
})


class _AnyName(dict):
    """Every filter and test name exists (Ansible's and the collections' are not loaded here)."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> object:
        return _anything

    def get(self, name: str, default: object = None) -> object:
        return super().get(name) or _anything


def _anything(*args: object, **kwargs: object) -> None:
    """Stands in for a filter or test: only the template's structure matters here."""


_ENV = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])
_ENV.filters = _AnyName(_ENV.filters)
_ENV.tests = _AnyName(_ENV.tests)


class _Unsafe(str):
    """A `!unsafe` value: Ansible never templates it."""


class _Loader(yaml.SafeLoader):
    """YAML with Ansible's `!unsafe` tag."""


_Loader.add_constructor("!unsafe", lambda loader, node: _Unsafe(loader.construct_scalar(node)))


def load_yaml(path: Path) -> Any:
    """A role file as data (`!unsafe` strings marked, so they are not read as templates)."""
    return yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader


def argument_specs(role_dir: Path) -> dict[str, dict[str, Any]]:
    """{entry point: {option: spec}} from meta/argument_specs.yml."""
    specs = load_yaml(role_dir / "meta" / "argument_specs.yml")["argument_specs"]
    return {entry: dict(spec.get("options") or {}) for entry, spec in specs.items()}


def role_file_data(role_dir: Path, part: str) -> dict[str, Any]:
    """defaults/main.yml or vars/main.yml as a dict ({} when the file is missing or empty)."""
    path = role_dir / part / "main.yml"
    return (load_yaml(path) or {}) if path.is_file() else {}


@dataclass
class Reads:
    """What a role's expressions read: every name, and those read only behind a default."""

    names: set[str] = field(default_factory=set)
    unguarded: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)

    def add_template(self, text: str, expression: bool = False) -> None:
        """Record the free variables of a template string (or of a bare expression)."""
        source = f"{{{{ {text} }}}}" if expression else text
        if not expression and "{{" not in text and "{%" not in text:
            return
        tree = _ENV.parse(source)
        # Jinja's analysis misses a `{% set %}` inside an `{% if %}` of a loop: names a template
        # assigns itself are never the role's inputs.
        assigned = {node.name for node in tree.find_all(jinja2.nodes.Name) if node.ctx == "store"}
        free = jinja2.meta.find_undeclared_variables(tree) - assigned
        guarded = _guarded_names(tree)
        self.names |= free
        self.unguarded |= {name for name in free if not guarded.get(name, False)}


def _guarded_names(tree: jinja2.nodes.Template) -> dict[str, bool]:
    """{name: every load of it sits under `| default(...)` or an `is defined` test}.

    Only the value itself is shielded (`a.b[c] | default(x)` shields `a`, not `c`, nor the
    filter's own arguments).
    """
    result: dict[str, bool] = {}

    def visit(node: jinja2.nodes.Node, guarded: bool) -> None:
        if isinstance(node, jinja2.nodes.Name) and node.ctx == "load":
            result[node.name] = result.get(node.name, True) and guarded
            return
        shields = (isinstance(node, jinja2.nodes.Filter) and node.name in ("default", "d")) or (
            isinstance(node, jinja2.nodes.Test) and node.name in ("defined", "undefined"))
        chain = isinstance(node, jinja2.nodes.Getattr | jinja2.nodes.Getitem)
        for name, child in node.iter_fields():
            for item in child if isinstance(child, list) else [child]:
                if isinstance(item, jinja2.nodes.Node):
                    value = name == "node"
                    visit(item, value and (shields or (chain and guarded)))

    visit(tree, False)
    return result


def _walk(data: Any, reads: Reads, key: str | None = None) -> None:
    if isinstance(data, _Unsafe):
        return
    if isinstance(data, str):
        reads.add_template(data, expression=key in CONDITIONALS)
    elif isinstance(data, list):
        for item in data:
            _walk(item, reads, key if key in CONDITIONALS else None)
    elif isinstance(data, dict):
        for item_key, value in data.items():
            _walk(value, reads, item_key)


def _defined_by_tasks(tasks: Any) -> Iterator[str]:
    """Names tasks define: register, set_fact keys, loop_var, task and block vars."""
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        if isinstance(task.get("register"), str):
            yield task["register"]
        for fact in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(fact), dict):
                yield from (k for k in task[fact] if k != "cacheable")
        loop_var = (task.get("loop_control") or {}).get("loop_var")
        if loop_var:
            yield loop_var
        yield from (task.get("vars") or {})
        for nested in ("block", "rescue", "always"):
            yield from _defined_by_tasks(task.get(nested))


def role_reads(role_dir: Path) -> Reads:
    """Every name the role's tasks, defaults, vars and templates read, and what it defines."""
    reads = Reads()
    for part in ("defaults", "vars"):
        data = role_file_data(role_dir, part)
        reads.defined |= set(data)
        _walk(data, reads)
    for tasks_file in sorted((role_dir / "tasks").glob("*.yml")):
        tasks = load_yaml(tasks_file)
        reads.defined |= set(_defined_by_tasks(tasks))
        _walk(tasks, reads)
    for template in sorted((role_dir / "templates").glob("*.j2")):
        reads.add_template(template.read_text())
    return reads
