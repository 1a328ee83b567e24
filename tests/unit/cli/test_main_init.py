"""`kdeploy init`: Kamal's starter files, existing files kept."""

from __future__ import annotations

import importlib
import os

from click.testing import CliRunner

import kdeploy.cli as cli_package


def kdeploy_cli():
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.main")
    cli_package.main = entry
    return cli_package.cli


def test_init_creates_config_secrets_and_hooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(kdeploy_cli(), ["init"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Created configuration file in config/deploy.yml",
        "Created .kamal/secrets file",
        "Created sample hooks in .kamal/hooks",
    ]
    assert "service: my-app" in (tmp_path / "config" / "deploy.yml").read_text()
    assert (tmp_path / ".kamal" / "secrets").is_file()
    hook = tmp_path / ".kamal" / "hooks" / "pre-deploy.sample"
    assert hook.is_file() and os.access(hook, os.X_OK)
    assert len(list((tmp_path / ".kamal" / "hooks").iterdir())) == 9


def test_init_writes_and_prints_no_kamal_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(kdeploy_cli(), ["init"])
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 11
    for text in [result.output, *(path.read_text() for path in written)]:
        assert "bin/kamal" not in text
    deploy_yml = (tmp_path / "config" / "deploy.yml").read_text()
    assert 'Aliases are triggered with "kdeploy <alias>"' in deploy_yml


def test_init_skips_existing_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text("mine")
    result = CliRunner().invoke(kdeploy_cli(), ["init"])
    assert result.output.splitlines()[0] == (
        "Config file already exists in config/deploy.yml (remove first to create a new one)")
    assert (tmp_path / "config" / "deploy.yml").read_text() == "mine"
    again = CliRunner().invoke(kdeploy_cli(), ["init"])
    assert again.output.splitlines()[1:] == [
        "Secrets file already exists in .kamal/secrets",
        "Hooks directory already exists in .kamal/hooks",
    ]
