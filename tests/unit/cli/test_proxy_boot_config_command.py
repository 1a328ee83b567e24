"""`kdeploy proxy boot_config set|get|reset` with a stubbed runner: options, output, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from json_events import report_event
from stub_runner import StubRunner
from test_proxy_commands import FIXTURES, kdeploy_cli, run

import kdeploy.run.execute as execute_module
from kdeploy.host_contract.proxy_boot_config import DEPRECATION


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def test_get_prints_kamals_line_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = "--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2"
    stub = StubRunner({"10.0.3.2": {"stdout": shown + " \r\n"},
                       "10.0.3.1": {"stdout": shown + " \r\n"}})
    result = run(monkeypatch, stub, "proxy", "boot_config", "get")
    assert result.exit_code == 0, result.output
    assert f"Host 10.0.3.1: {shown}\nHost 10.0.3.2: {shown}\n" in result.output
    assert DEPRECATION in result.stderr and DEPRECATION not in result.stdout
    (plan,) = stub.plans
    assert (plan.command, plan.lock_host) == ("proxy boot_config get", None)
    as_json = run(monkeypatch, stub, "proxy", "boot_config", "get", "--output", "json")
    # The deprecation goes to stderr: stdout stays JSON lines only.
    assert report_event(as_json.stdout)["items"] == [
        {"host": "10.0.3.1", "output": shown}, {"host": "10.0.3.2", "output": shown}]


def test_set_takes_kamals_options(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    # Thor's array option: every word after --docker-options is one of them.
    result = run(monkeypatch, stub, "proxy", "boot_config", "set", "--no-publish",
                 "--log-max-size", "", "--repository", "acme", "--debug",
                 "--docker-options", "label=a=b", "memory=1g")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert plan.extravars["proxy_boot_config_files"] == {
        "options": "--label=a=b --memory=1g", "image": "acme/kamal-proxy",
        "image_version": None, "run_command": "kamal-proxy run --debug"}


@pytest.mark.parametrize(("args", "message"), [
    (("show",), "Unknown boot_config subcommand show"),
    (("set", "stray"), "Unexpected arguments: stray"),
    (("set", "--http-port", "eighty"), "expected a number, got 'eighty'"),
    (("set", "--publish-host-ip", "localhost"), "Invalid publish IP address: localhost"),
])
def test_usage_errors_exit_2(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                             message: str) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "proxy", "boot_config", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert stub.plans == []


def test_the_caddy_engine_is_refused_naming_x_kdeploy_proxy(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = (FIXTURES / "deploy_with_roles.yml").read_text()
    (tmp_path / "deploy.yml").write_text(config + "x-kdeploy:\n  proxy:\n    engine: caddy\n")
    stub = StubRunner()
    monkeypatch.setattr(execute_module, "run_plan", stub)
    result = CliRunner().invoke(kdeploy_cli(), ["proxy", "boot_config", "reset", "-c",
                                                str(tmp_path / "deploy.yml")],
                                env={"VERSION": "v1"})
    assert result.exit_code == 2, result.output
    assert "the caddy engine has no boot config files" in result.output
    assert "x-kdeploy/proxy" in result.output and stub.plans == []
