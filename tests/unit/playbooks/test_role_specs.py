"""Each role's meta/argument_specs.yml matches what the role really reads (issue 14, item 2).

A role used alone gets Ansible's argument check from its spec, then runs with its defaults. Both
must agree, and every variable the role reads must be an input, defined by the role, or read
behind a default: otherwise a play passes the argument check and then fails on an undefined
variable, which is what made the roles unusable outside kdeploy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playbook_support import REPO
from role_templates import MAGIC, Reads, argument_specs, role_file_data, role_reads

ROLES_DIR = REPO / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def _templated(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _options(role_dir: Path) -> dict[str, list[dict]]:
    """{option: [its spec in each entry point that has it]}."""
    options: dict[str, list[dict]] = {}
    for entry_options in argument_specs(role_dir).values():
        for name, spec in entry_options.items():
            options.setdefault(name, []).append(spec)
    return options


def test_the_collection_has_its_eleven_roles() -> None:
    assert ROLES == ["accessory", "app", "app_ops", "audit", "bootstrap", "lock", "proxy",
                     "prune", "pull", "registry", "settle"]


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_are_the_role_defaults(role: str) -> None:
    role_dir = ROLES_DIR / role
    defaults = role_file_data(role_dir, "defaults")
    problems = []
    for entry, options in argument_specs(role_dir).items():
        for name, spec in options.items():
            if "default" in spec:
                if name not in defaults:
                    problems.append(f"{entry}/{name}: the spec says default {spec['default']!r}, "
                                    "defaults/main.yml has nothing (the role sees it undefined)")
                elif defaults[name] != spec["default"]:
                    problems.append(f"{entry}/{name}: spec default {spec['default']!r} != "
                                    f"defaults/main.yml {defaults[name]!r}")
            elif name in defaults and not _templated(defaults[name]) and not spec.get("required"):
                problems.append(f"{entry}/{name}: defaults/main.yml has {defaults[name]!r}, "
                                "the spec gives no default")
    assert problems == []


def _undefined_reads(role_dir: Path, reads: Reads) -> list[str]:
    options = _options(role_dir)
    problems = [f"{name}: read, but neither an input nor defined by the role"
                for name in sorted(reads.unguarded - reads.defined - set(options) - MAGIC)]
    problems += [f"{name}: an optional input without a default, read without | default()"
                 for name in sorted((reads.unguarded & set(options)) - reads.defined)
                 if not any(spec.get("required") for spec in options[name])]
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_the_role_reads_is_an_input_or_defined(role: str) -> None:
    role_dir = ROLES_DIR / role
    assert _undefined_reads(role_dir, role_reads(role_dir)) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_input_is_read(role: str) -> None:
    role_dir = ROLES_DIR / role
    assert sorted(set(_options(role_dir)) - role_reads(role_dir).names) == []


def test_an_undefined_global_is_caught(tmp_path: Path) -> None:
    role_dir = tmp_path / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "tasks").mkdir()
    (role_dir / "defaults").mkdir()
    (role_dir / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      demo_name: {type: str, required: true}\n"
        "      demo_port: {type: int}\n")
    (role_dir / "defaults" / "main.yml").write_text(
        "demo_destination: \"{{ kdeploy_destination }}\"\n"
        "demo_registry: \"{{ kdeploy_registry.server | default(none) }}\"\n")
    (role_dir / "tasks" / "main.yml").write_text(
        "- name: Use them.\n"
        "  ansible.builtin.debug:\n"
        "    msg: \"{{ demo_name }} {{ demo_destination }} {{ demo_port }} {{ demo_registry }}\"\n"
        "  when: demo_extra is defined and inventory_hostname != ''\n")
    assert _undefined_reads(role_dir, role_reads(role_dir)) == [
        "kdeploy_destination: read, but neither an input nor defined by the role",
        "demo_port: an optional input without a default, read without | default()",
    ]
