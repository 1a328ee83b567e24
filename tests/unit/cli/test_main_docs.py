"""`kdeploy docs [SECTION]` and `kdeploy version`."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner

import kdeploy
import kdeploy.cli as cli_package
from kdeploy.config.docs import SECTIONS


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


def test_docs_unknown_section():
    result = CliRunner().invoke(kdeploy_cli(), ["docs", "nope"])
    assert result.exit_code == 2
    assert result.output.startswith("ERROR: No documentation found for nope")


def test_version():
    assert CliRunner().invoke(kdeploy_cli(), ["version"]).output.strip() == kdeploy.__version__
