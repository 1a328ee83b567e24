"""The one YAML writer: what `unsafe` marks, Ansible's own loader reads back as data.

Checked with ansible-core's DataLoader reading the text as it reads an inventory or an
`-e @file` (trusted for templating), then with its Templar: every string under a mark, keys
included, comes back untrusted, of the same type and value, and renders to itself.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, is_trusted_as_template, trust_as_template
from hypothesis import given, settings
from hypothesis import strategies as st

from kdeploy import ansible_yaml
from kdeploy.ansible_yaml import UNSAFE_TAG, dump, unsafe

MARKER = Path(tempfile.gettempdir()) / f"kdeploy-pwned-{uuid.uuid4().hex}"
PAYLOADS = ("{{ 7*7 }}", "{% raw %}x{% endraw %}", "{% raw %}", "{# c #}", "{% endraw %}",
            f"{{{{ lookup('pipe', 'touch {MARKER}') }}}}")
# Strings that YAML would read as another type when unquoted.
LOOKALIKES = ("", "0755", "12", "1.5", "yes", "off", "null", "~", "2001-12-14", "1:30", "<<", "=")

texts = st.one_of(
    st.sampled_from(PAYLOADS + LOOKALIKES),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.builds("".join, st.lists(st.sampled_from([*PAYLOADS, "a", " ", "\n", "'", '"', "\\"]),
                                max_size=5)),
)
scalars = st.one_of(texts, st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False))
data = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=20)


def ansible_load(text: str) -> Any:
    """Load as ansible-playbook loads an inventory file or `-e @file`: trusted for templating."""
    return DataLoader().load(trust_as_template(text))


def strings(value: Any) -> list[str]:
    """Every string in `value`, mapping keys included."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in strings(key) + strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def rendered(value: Any) -> Any:
    return Templar(loader=DataLoader(), variables={}).template(value)


@pytest.fixture(autouse=True, scope="module")
def no_command_ran() -> Any:
    yield
    assert not MARKER.exists(), "a lookup('pipe') ran while loading or templating"


@settings(max_examples=300, deadline=None)
@given(value=data)
def test_every_string_in_a_marked_mapping_is_data_to_ansible(value: Any) -> None:
    # As kdeploy writes variables: the mapping that holds them is marked.
    loaded = ansible_load(dump({"vars": unsafe({"v": value})}))["vars"]["v"]
    assert loaded == value
    assert not [text for text in strings(loaded) if is_trusted_as_template(text)]
    assert rendered(loaded) == value


@settings(max_examples=300, deadline=None)
@given(value=data)
def test_what_dump_writes_load_reads_back(value: Any) -> None:
    assert ansible_yaml.load(dump([unsafe(value), value])) == [value, value]


@pytest.mark.parametrize("text", PAYLOADS + LOOKALIKES)
def test_a_lone_string_keeps_its_type_and_value(text: str) -> None:
    # A string is tagged itself where it stands alone (a play's name or hosts).
    loaded = ansible_load(dump({"name": unsafe(text)}))["name"]
    assert isinstance(loaded, str) and loaded == text
    assert rendered(loaded) == text
    if "{" in text:
        assert not is_trusted_as_template(loaded)


def test_a_lookalike_string_is_written_untagged_because_ansible_would_retype_it() -> None:
    # ansible-core 2.19 resolves a tagged scalar's type again as if it were unquoted.
    assert ansible_load("a: !unsafe '0755'\nb: !unsafe ''\n") == {"a": 493, "b": None}
    assert dump({"a": unsafe("0755"), "b": unsafe(""), "c": unsafe("x")}) == \
        "{a: '0755', b: '', c: !unsafe 'x'}\n"


def test_containers_carry_the_tag_and_their_items_stay_plain() -> None:
    text = dump({"vars": unsafe({"env": {"A": "{{ 7*7 }}"}, "list": ["0755", 1]})})
    assert text == "vars: !unsafe\n  env: {A: '{{ 7*7 }}'}\n  list: ['0755', 1]\n"
    assert unsafe(("a",)) == ["a"] and dump(unsafe(("a",))) == f"{UNSAFE_TAG} [a]\n"


def test_without_the_mark_ansible_would_template_the_text() -> None:
    # The control: the same text, unmarked, is rendered (and would run a lookup).
    loaded = ansible_load(dump({"vars": {"a": "{{ 7*7 }}"}}))["vars"]
    assert is_trusted_as_template(loaded["a"])
    assert rendered(loaded) == {"a": 49}


def test_numbers_booleans_and_none_need_no_mark() -> None:
    assert [unsafe(value) for value in (1, 1.5, True, None)] == [1, 1.5, True, None]
    assert dump({"a": unsafe(22), "b": unsafe(None)}) == "{a: 22, b: null}\n"


def test_repeated_objects_are_written_out_not_aliased() -> None:
    shared = {"k": "v"}
    assert "&" not in dump({"a": unsafe(shared), "b": shared, "c": unsafe(shared)})
