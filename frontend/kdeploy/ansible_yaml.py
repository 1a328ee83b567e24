"""The one YAML writer for what Ansible reads from kdeploy: user values tagged `!unsafe`.

Every value that comes from the config, the secrets, the CLI, git or the environment is data.
ansible-core 2.19 templates any string it loaded from an inventory, an `-e @file` or a playbook
(they are "trusted"), so a `{{ }}` in an env value would be rendered, and a `lookup('pipe', …)`
would run on the machine that deploys. `!unsafe` makes Ansible load a string untrusted: it can
be referenced by templates but is never rendered itself, and whatever is built from it (`~`,
`set_fact`, `b64encode`, the `template` module) stays untrusted too. docs/ansible-interface.md
"User data is never templated" has the verified details.

`unsafe(value)` marks a value; `dump` writes it with `!unsafe` on the value's own node:

- A mapping or a list: ansible-core 2.19 loads every string below a tagged node untrusted, keys
  included (a key can become a value, e.g. through `dict2items`, and would then be rendered).
  Each scalar inside keeps the type its quoting gives it.
- A lone string: tagged itself, unless YAML would read it as another type. 2.19 resolves a
  tagged scalar's type again as if it were unquoted (`!unsafe ''` loads as None, `!unsafe '0755'`
  as 493), so such a string is written untagged; it cannot hold a template, because no number,
  boolean, null or date form contains a `{`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

UNSAFE_TAG = "!unsafe"
_STR_TAG = "tag:yaml.org,2002:str"


class UnsafeText(str):
    """A string that Ansible must take as data (equal to the plain string)."""

    __slots__ = ()


class UnsafeMapping(dict):
    """A mapping whose keys and values, all the way down, Ansible must take as data."""


class UnsafeList(list):
    """A list whose items, all the way down, Ansible must take as data."""


def unsafe(value: Any) -> Any:
    """Mark `value` (a string, mapping or list from the user) as data for Ansible.

    Numbers, booleans and None need no mark and come back as they are.
    """
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, Mapping):
        return UnsafeMapping(value)
    if isinstance(value, list | tuple):
        return UnsafeList(value)
    return value


def dump(data: Any) -> str:
    """YAML text of `data` for Ansible, each value marked by `unsafe` tagged `!unsafe`."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)


def load(text: str) -> Any:
    """Read what `dump` wrote, `!unsafe` values as plain data (for tools other than Ansible)."""
    return yaml.load(text, Loader=_Loader)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        # An alias could point at a node tagged elsewhere; every value is written out in full.
        return True


def _represent_text(dumper: _Dumper, text: UnsafeText) -> yaml.ScalarNode:
    node = dumper.represent_str(str(text))
    if dumper.resolve(yaml.ScalarNode, node.value, (True, False)) == _STR_TAG:
        node.tag = UNSAFE_TAG
    return node


def _represent_mapping(dumper: _Dumper, mapping: UnsafeMapping) -> yaml.MappingNode:
    node = dumper.represent_dict(dict(mapping))
    node.tag = UNSAFE_TAG
    return node


def _represent_list(dumper: _Dumper, items: UnsafeList) -> yaml.SequenceNode:
    node = dumper.represent_list(list(items))
    node.tag = UNSAFE_TAG
    return node


_Dumper.add_representer(UnsafeText, _represent_text)
_Dumper.add_representer(UnsafeMapping, _represent_mapping)
_Dumper.add_representer(UnsafeList, _represent_list)


class _Loader(yaml.SafeLoader):
    pass


def _construct_unsafe(loader: _Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_constructor(UNSAFE_TAG, _construct_unsafe)
