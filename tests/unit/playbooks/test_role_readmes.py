"""Every role has a README a user of the collection can work from (issue 14, item 2).

Each README names every entry point and every option of its argument specs, names no option
the specs lack, and shows a YAML example that uses the role by its FQCN.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from playbook_support import REPO
from role_templates import argument_specs

ROLES_DIR = REPO / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())
SECTIONS = ("## Entry points", "## Inputs", "## What it writes on the host",
            "## Check and diff mode", "## Example")
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)
TABLE_VARIABLE = re.compile(r"^\| `(?P<name>[a-z_][a-z0-9_]*)` \|", re.M)


def _readme(role: str) -> str:
    path = ROLES_DIR / role / "README.md"
    assert path.is_file(), f"roles/{role} has no README.md"
    return path.read_text()


def _inputs_section(readme: str) -> str:
    start = readme.index("## Inputs")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end >= 0 else None]


def _role_uses(data: Any, fqcn: str) -> bool:
    """True when a YAML document uses the role: `role:` in roles, or `name:` of an import."""
    if isinstance(data, dict):
        if data.get("role") == fqcn:
            return True
        for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
            if isinstance(data.get(key), dict) and data[key].get("name") == fqcn:
                return True
        return any(_role_uses(value, fqcn) for value in data.values())
    if isinstance(data, list):
        return any(_role_uses(item, fqcn) for item in data)
    return False


@pytest.mark.parametrize("role", ROLES)
def test_readme_has_the_sections_in_order(role: str) -> None:
    readme = _readme(role)
    assert readme.startswith(f"# kdeploy.deploy.{role}\n")
    positions = [readme.find(section) for section in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


@pytest.mark.parametrize("role", ROLES)
def test_readme_names_every_entry_point_and_option(role: str) -> None:
    readme = _readme(role)
    specs = argument_specs(ROLES_DIR / role)
    entry_points = readme[readme.index("## Entry points"):readme.index("## Inputs")]
    assert [e for e in specs if f"`{e}`" not in entry_points] == []
    options = {name for options in specs.values() for name in options}
    documented = set(TABLE_VARIABLE.findall(_inputs_section(readme)))
    assert sorted(options - documented) == [], "options missing from the README's inputs"
    assert sorted(documented - options) == [], "the README documents options the role lacks"


@pytest.mark.parametrize("role", ROLES)
def test_readme_example_uses_the_role_by_its_fqcn(role: str) -> None:
    blocks = YAML_BLOCK.findall(_readme(role))
    assert blocks, "no ```yaml example"
    documents = [yaml.safe_load(block) for block in blocks]
    assert any(_role_uses(document, f"kdeploy.deploy.{role}") for document in documents)


def test_an_undocumented_option_is_found() -> None:
    readme = "## Inputs\n\n| variable |\n|---|\n| `app_role` | main |\n\n## Example\n"
    assert set(TABLE_VARIABLE.findall(_inputs_section(readme))) == {"app_role"}
    assert not _role_uses([{"hosts": "all", "roles": [{"role": "kdeploy_app"}]}],
                          "kdeploy.deploy.app")
