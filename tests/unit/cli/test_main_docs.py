"""`kdeploy docs [SECTION]` and `kdeploy version`."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import kdeploy
import kdeploy.cli as cli_package
from kdeploy import guides
from kdeploy.config.docs import SECTIONS, doc_text, in_kdeploy_words

DOCS = Path(__file__).resolve().parents[3] / "docs"



def kamal_commands(text):
    """The commands a reader is told to run as Kamal's: `kamal app ...`, `bin/kamal deploy`."""
    names = "|".join([*kdeploy_cli().commands, "console"])
    return re.findall(rf"(?<![\w/.-])(?<!\$\()(?:bin/)?kamal (?:{names})\b", text)


def kdeploy_cli():
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.main")
    cli_package.main = entry
    return cli_package.cli


@pytest.mark.parametrize("section", SECTIONS)
def test_docs_section(section):
    result = CliRunner().invoke(kdeploy_cli(), ["docs", section])
    assert result.exit_code == 0
    assert result.output.startswith("#")


def test_docs_all_sections():
    result = CliRunner().invoke(kdeploy_cli(), ["docs"])
    assert "# kdeploy extension" in result.output and "# Accessories" in result.output


def test_docs_unknown_topic_names_every_choice():
    result = CliRunner().invoke(kdeploy_cli(), ["docs", "nope"])
    assert result.exit_code == 2
    assert result.output.startswith("ERROR: No documentation found for nope, choose a config "
                                    "section (accessory, alias,")
    assert "or a guide (accessories, accessory-destinations," in result.output


def test_the_reference_as_shown_names_kdeploy_commands():
    shown = CliRunner().invoke(kdeploy_cli(), ["docs"]).output
    assert kamal_commands("".join(doc_text(name) for name in SECTIONS)), (
        "the reference no longer names Kamal commands: this test checks nothing")
    assert kamal_commands(shown) == []
    assert "Run `kdeploy accessory boot <accessory>` to boot an accessory." in shown
    assert "see kdeploy docs registry:" in shown


@pytest.mark.parametrize(("kamal", "kdeploy_words"), [
    ("# kamal app exec -i --reuse", "# kdeploy app exec -i --reuse"),
    ('triggered with "bin/kamal console"', 'triggered with "kdeploy console"'),
    ("see kamal docs proxy:", "see kdeploy docs proxy:"),
    # Names on the hosts and the config's semantics stay Kamal's.
    ("Configuration for kamal-proxy", "Configuration for kamal-proxy"),
    ("Kamal will look for it", "Kamal will look for it"),
    ("read from `.kamal/secrets`", "read from `.kamal/secrets`"),
    ("Defaults to kamal:", "Defaults to kamal:"),
    # A secrets-file line keeps working with Kamal, and kdeploy runs it itself.
    ("SECRETS=$(kamal secrets fetch ...)", "SECRETS=$(kamal secrets fetch ...)"),
])
def test_in_kdeploy_words(kamal, kdeploy_words):
    assert in_kdeploy_words(kamal) == kdeploy_words


def test_every_guide_is_a_topic_with_its_title():
    files = sorted(path.stem for path in DOCS.glob("*.md"))
    assert sorted(guides.topics()) == files
    assert guides.topics()["differences"] == "Differences from Kamal"


@pytest.mark.parametrize("topic", ["deploy", "deploy.md"])
def test_docs_shows_a_guide(topic):
    result = CliRunner().invoke(kdeploy_cli(), ["docs", topic])
    assert result.exit_code == 0
    assert result.output == (DOCS / "deploy.md").read_text()


def test_a_section_and_a_guide_of_one_name():
    # `kdeploy docs proxy` is Kamal's `kamal docs proxy`; the guide is one argument away.
    result = CliRunner().invoke(kdeploy_cli(), ["docs", "proxy"])
    assert result.output.startswith("# Proxy")
    assert result.output.endswith("# The guide of the same name: kdeploy docs proxy.md\n")
    guide = CliRunner().invoke(kdeploy_cli(), ["docs", "proxy.md"])
    assert guide.output == (DOCS / "proxy.md").read_text()


def test_docs_list_names_sections_and_guides():
    listed = CliRunner().invoke(kdeploy_cli(), ["docs", "--list"]).output.splitlines()
    assert listed[0] == "Config reference (kdeploy docs SECTION):"
    assert [line.strip() for line in listed[1:1 + len(SECTIONS)]] == list(SECTIONS)
    assert listed[1 + len(SECTIONS)] == "Guides (kdeploy docs TOPIC):"
    guide_lines = listed[2 + len(SECTIONS):]
    assert [line.split()[0] for line in guide_lines] == list(guides.topics())
    assert "differences              Differences from Kamal" in [line.strip()
                                                              for line in guide_lines]


def test_version():
    assert CliRunner().invoke(kdeploy_cli(), ["version"]).output.strip() == kdeploy.__version__
