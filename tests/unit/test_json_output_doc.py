"""docs/json-output.md against the shipped event schema: its examples and its field lists.

Every line of a ```json block is an example event captured from a real run; each must validate
against frontend/kdeploy/schemas/events-v1.schema.json, every event type needs one, and each
type's section names every field the schema gives that type.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from kdeploy.events import EVENT_TYPES, schema_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "json-output.md"
ENVELOPE = {"schema_version", "type", "time", "seq"}
SCHEMA = json.loads(schema_path().read_text())


def sections() -> dict[str, str]:
    """`### \\`type\\`` heading -> the text up to the next heading of that level or above."""
    parts = re.split(r"^(#{2,3} .*)$", DOC.read_text(), flags=re.MULTILINE)
    found = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        match = re.fullmatch(r"### `(\w+)`", heading.strip())
        if match:
            found[match.group(1)] = body
    return found


def examples(text: str) -> list[str]:
    """The lines of the ```json blocks in `text`."""
    blocks = re.findall(r"^```json\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_every_example_line_is_a_valid_event() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    lines = examples(DOC.read_text())
    assert len(lines) >= len(EVENT_TYPES)
    for line in lines:
        event = json.loads(line)
        errors = [f"{error.json_path}: {error.message}" for error in validator.iter_errors(event)]
        assert errors == [], line


def test_the_check_is_not_empty() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    event = json.loads(examples(sections()["error"])[0])
    assert validator.is_valid(event)
    assert not validator.is_valid({**event, "exit_code": "2"})
    assert not validator.is_valid({**event, "hint": "a field the schema does not have"})


def test_every_event_type_has_a_section_with_an_example_of_that_type() -> None:
    found = sections()
    assert set(found) >= set(EVENT_TYPES)
    for kind in EVENT_TYPES:
        kinds = {json.loads(line)["type"] for line in examples(found[kind])}
        assert kinds == {kind}, kind


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_each_section_names_every_field_of_its_type(kind: str) -> None:
    fields = set(SCHEMA["$defs"][f"event_{kind}"]["properties"]) - ENVELOPE
    text = sections()[kind].split("```json", 1)[0]
    assert {field for field in fields if f"`{field}`" not in text} == set()


def test_the_envelope_and_the_schema_location_are_as_the_package_says() -> None:
    text = DOC.read_text()
    for field in ENVELOPE:
        assert f"| `{field}` |" in text
    for kind in EVENT_TYPES:
        assert f"`{kind}`" in text.split("## Event types", 1)[0]
    assert 'python -c "import kdeploy.events as e; print(e.schema_path())"' in text
    assert schema_path().name in text and schema_path().is_file()


def test_the_exit_codes_are_all_there() -> None:
    table = DOC.read_text().split("| code | meaning |", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\s*\| (\S+) \|", table, flags=re.MULTILINE) == [
        "0", "1", "2", "3", "4", "128+n"]
