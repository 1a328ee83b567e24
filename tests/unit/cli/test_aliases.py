"""Config aliases run as Kamal runs them: `kdeploy NAME ARGS` is the alias's command plus ARGS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.cli.aliases import expand_alias
from kdeploy.errors import ConfigError, UsageError
from kdeploy.plan import Plan
from kdeploy.run.result import RunResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ALIASES = {"ver": "app version", "webconf": "config --json -P -r web",
           "shell": "app exec -i --reuse \"bin/rails console\""}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = yaml.safe_load((FIXTURES / "deploy_with_roles.yml").read_text())
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config | {"aliases": ALIASES}))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=hunter2hunter2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    cli_package._register_commands()
    return CliRunner().invoke(cli_package.cli, list(args),
                              env={"VERSION": "v9"})


def test_an_alias_is_its_command_line_with_the_arguments_appended(project: Path) -> None:
    assert expand_alias("ver", ["-q"]) == ["app", "version", "-q"]
    assert expand_alias("shell", []) == ["app", "exec", "-i", "--reuse", "bin/rails console"]
    assert expand_alias("nope", []) is None


def test_the_alias_comes_from_the_config_that_c_and_d_name(project: Path) -> None:
    other = project / "config" / "other.yml"
    other.write_text((project / "config" / "deploy.yml").read_text())
    (project / "config" / "other.staging.yml").write_text(
        yaml.safe_dump({"aliases": {"stage": "deploy -d staging"}}))
    assert expand_alias("stage", ["-c", str(other)]) is None
    assert expand_alias("stage", [f"--config-file={other}", "-d", "staging"]) == [
        "deploy", "-d", "staging", f"--config-file={other}", "-d", "staging"]
    assert expand_alias("stage", [f"-c{other}", "--destination=staging"]) is not None
    # No config file there: no alias (click then says "No such command").
    assert expand_alias("ver", ["-c", str(project / "missing.yml")]) is None


def test_an_alias_that_is_no_command_line_is_refused(project: Path) -> None:
    deploy_file = project / "config" / "deploy.yml"
    config = yaml.safe_load(deploy_file.read_text())
    deploy_file.write_text(yaml.safe_dump(config | {"aliases": {"bad": ["app", "version"],
                                                               "open": "app exec \"x"}}))
    with pytest.raises(ConfigError, match="aliases/bad: should be a string"):
        expand_alias("bad", [])
    with pytest.raises(UsageError, match="aliases/open: No closing quotation"):
        expand_alias("open", [])
    result = invoke("bad")
    assert result.exit_code == 2
    assert result.output.strip() == "ERROR: config/deploy.yml: aliases/bad: should be a string"


def test_kdeploy_runs_the_alias(project: Path) -> None:
    ran = invoke("webconf")
    direct = invoke("config", "--json", "-P", "-r", "web")
    assert ran.exit_code == direct.exit_code == 0, ran.output
    ours, theirs = (json.loads(result.output) for result in (ran, direct))
    assert ours.pop("time") and theirs.pop("time")
    assert ours == theirs
    assert ours["roles"] == ["web"]


def test_arguments_after_the_alias_reach_its_command(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plans: list[Plan] = []

    def run_plan(config: Any, plan: Plan, *args: Any, **kwargs: Any) -> RunResult:
        plans.append(plan)
        return RunResult(status="successful")

    monkeypatch.setattr(execute_module, "run_plan", run_plan)
    result = invoke("ver", "-r", "workers")
    assert result.exit_code == 0, result.output
    (plan,) = plans
    assert plan.command == "app version"
    assert plan.limit is not None and "10.0.3.1" not in plan.limit and "10.0.3.3" in plan.limit


def test_a_command_wins_over_an_unknown_word_and_an_alias_loop_is_refused(project: Path) -> None:
    unknown = invoke("nope")
    assert unknown.exit_code == 2 and "No such command 'nope'" in unknown.output
    deploy_file = project / "config" / "deploy.yml"
    config = yaml.safe_load(deploy_file.read_text())
    deploy_file.write_text(yaml.safe_dump(config | {"aliases": {"ping": "pong -q",
                                                               "pong": "ping"}}))
    looped = invoke("ping")
    assert looped.exit_code == 2
    assert looped.output.strip() == "ERROR: Alias ping runs itself: ping -> pong -> ping"


def test_an_alias_is_expanded_before_kdeploy_decides_who_owns_the_processes(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox's daemons outlive kdeploy, also when an alias starts them.
    owned: list[str] = []
    real = cli_package.owning_processes
    monkeypatch.setattr(cli_package, "owning_processes", lambda: owned.append("x") or real())
    deploy_file = project / "config" / "deploy.yml"
    config = yaml.safe_load(deploy_file.read_text())
    deploy_file.write_text(yaml.safe_dump(config | {"aliases": {"st": "sandbox status --json",
                                                               "v": "version"}}))
    assert invoke("st").exit_code == 0
    assert owned == []
    assert invoke("v").exit_code == 0
    assert owned == ["x"]
