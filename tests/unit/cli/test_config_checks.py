"""`kdeploy config -q` refuses what a deploy refuses, with the same message and exit code.

Each case breaks one thing in an otherwise good project (tmp dir: config/deploy.yml,
.kamal/secrets, Dockerfile) and runs `config -q` beside the command that would meet it, with
Ansible stubbed: the command must refuse the same way before anything runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import kdeploy.cli as cli_package
import kdeploy.image as build_module
import kdeploy.run.execute as execute_module
from kdeploy.run.result import RunResult

GOOD: dict[str, Any] = {
    "service": "app",
    "image": "acme/app",
    "servers": {"web": ["10.0.0.1"], "workers": {"hosts": ["10.0.0.2"], "cmd": "bin/jobs"}},
    "registry": {"server": "localhost:5000", "username": "deployer",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "env": {"secret": ["RAILS_MASTER_KEY"]},
    "accessories": {"db": {"image": "postgres:16", "host": "10.0.0.2",
                           "env": {"secret": ["POSTGRES_PASSWORD"]}}},
}
SECRETS = ("KAMAL_REGISTRY_PASSWORD=registry-secret-value\nRAILS_MASTER_KEY=master-key-value\n"
           "POSTGRES_PASSWORD=postgres-secret-value\n")


class Project:
    """A project directory the commands run in, and what the stubbed runner was asked to run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config: dict[str, Any] = yaml.safe_load(yaml.safe_dump(GOOD))
        self.secrets = SECRETS
        self.env: dict[str, str | None] = {"VERSION": "v1", "KDEPLOY_MITOGEN": None}
        self.plans: list[str] = []
        self.pushes: list[str] = []

    def write(self) -> None:
        (self.directory / "config").mkdir(exist_ok=True)
        (self.directory / "config" / "deploy.yml").write_text(yaml.safe_dump(self.config))
        (self.directory / ".kamal").mkdir(exist_ok=True)
        (self.directory / ".kamal" / "secrets").write_bytes(
            self.secrets if isinstance(self.secrets, bytes) else self.secrets.encode())

    def run(self, *args: str) -> Result:
        self.write()
        cli_package._register_commands()
        return CliRunner().invoke(cli_package.cli, list(args), env=self.env)

    def stub_runner(self, config, plan, secrets, on_event, **kwargs) -> RunResult:  # type: ignore[no-untyped-def]
        self.plans.append(plan.command)
        return RunResult(status="successful")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    made = Project(tmp_path)
    monkeypatch.setattr(execute_module, "run_plan", made.stub_runner)
    monkeypatch.setattr(build_module, "push_image",
                        lambda config, **kwargs: made.pushes.append(config.absolute_image))
    return made


def _error(result: Result) -> str:
    assert "Traceback" not in result.output
    return result.output.strip()


def assert_same_refusal(project: Project, command: tuple[str, ...], fragment: str,
                        config_args: tuple[str, ...] = ()) -> None:
    """`config -q` and `command` both exit 2 with one line holding `fragment`; nothing ran."""
    checked = project.run("config", "-q", *config_args)
    refused = project.run(*command)
    assert (checked.exit_code, refused.exit_code) == (2, 2), (checked.output, refused.output)
    assert _error(checked) == _error(refused)
    assert _error(checked).startswith("ERROR: ") and fragment in _error(checked)
    assert len(_error(checked).splitlines()) == 1
    assert project.plans == [] and project.pushes == []


def test_a_good_project_passes_silently_with_q(project: Project) -> None:
    result = project.run("config", "-q")
    assert (result.exit_code, result.output) == (0, "")
    assert project.plans == []  # config never runs Ansible


def test_without_q_config_still_shows_the_config(project: Project) -> None:
    result = project.run("config")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output)["service"] == "app"
    assert "postgres-secret-value" not in result.output


def test_deploy_runs_the_good_project(project: Project) -> None:
    # The refusals below come from the breakage, not from the harness.
    result = project.run("deploy", "-P")
    assert result.exit_code == 0, result.output
    assert project.plans == ["deploy"]


def test_an_accessory_option_that_cannot_be_a_docker_flag(project: Project) -> None:
    project.config["accessories"]["db"]["options"] = {"gpus": "all", "network alias": "db"}
    assert_same_refusal(project, ("deploy", "-P"),
                        "config/deploy.yml: accessories/db/options/network alias: not a docker "
                        "run flag name")


def test_any_docker_flag_passes_config_as_it_passes_deploy(project: Project) -> None:
    # No list of supported flags: what docker knows is docker's to say on the host.
    project.config["accessories"]["db"]["options"] = {
        "gpus": "all", "network-alias": ["db", "pg"], "cgroup-parent": "/kd", "init": True}
    project.config["servers"]["web"] = {"hosts": project.config["servers"]["web"],
                                        "options": {"gpus": "all"}}
    assert project.run("config", "-q").exit_code == 0
    assert project.run("deploy", "-P").exit_code == 0


def test_a_secret_the_app_needs_and_no_file_defines(project: Project) -> None:
    project.secrets = SECRETS.replace("RAILS_MASTER_KEY=master-key-value\n", "")
    assert_same_refusal(project, ("deploy", "-P"),
                        "Secret 'RAILS_MASTER_KEY' not found in .kamal/secrets")


def test_a_secret_only_an_accessory_needs(project: Project) -> None:
    # A deploy does not read it, `accessory boot` (and setup) does: config checks them all.
    project.secrets = SECRETS.replace("POSTGRES_PASSWORD=postgres-secret-value\n", "")
    assert project.run("deploy", "-P").exit_code == 0
    project.plans.clear()
    assert_same_refusal(project, ("accessory", "boot", "db"),
                        "Secret 'POSTGRES_PASSWORD' not found in .kamal/secrets")


def test_a_secrets_file_that_is_not_utf_8(project: Project) -> None:
    project.secrets = SECRETS.encode() + b"BAD=\xff\n"
    assert_same_refusal(project, ("deploy", "-P"), ".kamal/secrets: not valid UTF-8")


def test_a_secrets_line_that_is_not_key_value(project: Project) -> None:
    project.secrets = SECRETS + "just words\n"
    assert_same_refusal(project, ("deploy", "-P"), ".kamal/secrets:4: not a KEY=value line")


def test_a_failing_secret_command(project: Project) -> None:
    project.secrets = SECRETS + "TOKEN=$(exit 3)\n"
    assert_same_refusal(project, ("deploy", "-P"), "failed with exit status 3")


def test_a_missing_hook_playbook(project: Project) -> None:
    project.config["x-kdeploy"] = {"hooks": {"pre-deploy": ["hooks/warm.yml"]}}
    assert_same_refusal(project, ("deploy", "-P"),
                        "x-kdeploy/hooks/pre-deploy/0: no playbook at")


def test_a_missing_hook_playbook_is_not_checked_with_skip_hooks(project: Project) -> None:
    project.config["x-kdeploy"] = {"hooks": {"pre-deploy": ["hooks/warm.yml"]}}
    assert project.run("config", "-q", "-H").exit_code == 0
    assert project.run("deploy", "-P", "-H").exit_code == 0


def test_a_mitogen_setting_that_is_neither_on_nor_off(project: Project) -> None:
    project.env["KDEPLOY_MITOGEN"] = "maybe"
    assert_same_refusal(project, ("deploy", "-P"), "KDEPLOY_MITOGEN=maybe: should be 1 or 0")


def test_mitogen_on_but_not_installed(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ansible_mitogen" else real(name, *a))
    project.env["KDEPLOY_MITOGEN"] = "1"
    assert_same_refusal(project, ("deploy", "-P"), "mitogen is on")


def test_no_version(project: Project) -> None:
    project.env["VERSION"] = None  # and the tmp dir is no git repository
    assert_same_refusal(project, ("deploy", "-P"),
                        "No version to deploy: pass --version, set VERSION, or run in a git repo")


def test_no_app_hosts_for_the_roles(project: Project) -> None:
    project.config["allow_empty_roles"] = True
    project.config["servers"]["workers"] = []
    assert_same_refusal(project, ("deploy", "-P", "-r", "workers"),
                        "No app hosts to deploy for --roles workers",
                        config_args=("-r", "workers"))


def test_a_buildpacks_builder(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdeploy.image import push

    monkeypatch.setattr(build_module, "push_image", push.push_image)  # the real build's checks
    project.config["builder"]["pack"] = {"builder": "heroku/builder:24",
                                         "buildpacks": ["heroku/ruby"]}
    assert_same_refusal(project, ("deploy",), "kdeploy cannot build with buildpacks")
    assert project.run("config", "-q", "-P").exit_code == 0


def test_a_missing_dockerfile(project: Project) -> None:
    (project.directory / "Dockerfile").unlink()
    result = project.run("config", "-q")
    assert result.exit_code == 2
    assert _error(result) == (f"ERROR: Missing Dockerfile (builder/dockerfile, looked for "
                              f"{project.directory / 'Dockerfile'})")
    assert project.run("config", "-q", "-P").exit_code == 0


def test_a_pre_build_hook_may_write_the_dockerfile(project: Project) -> None:
    (project.directory / "Dockerfile").unlink()
    hook = project.directory / ".kamal" / "hooks" / "pre-build"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\ncp Dockerfile.template Dockerfile\n")
    hook.chmod(0o755)
    assert project.run("config", "-q").exit_code == 0
    assert project.run("config", "-q", "-H").exit_code == 2


def test_deploy_refuses_before_it_builds(project: Project) -> None:
    # A refusal of the generated directory (checked after loading): still before the build.
    project.env["KDEPLOY_MITOGEN"] = "maybe"
    result = project.run("deploy")
    assert result.exit_code == 2
    assert project.pushes == [] and project.plans == []


def test_an_accessory_without_an_image(project: Project) -> None:
    del project.config["accessories"]["db"]["image"]
    assert_same_refusal(project, ("setup", "-P"),
                        "deploy.yml: accessories/db: Missing required configuration for image")


def test_setup_refuses_before_it_builds(project: Project) -> None:
    project.env["KDEPLOY_MITOGEN"] = "maybe"
    result = project.run("setup")
    assert result.exit_code == 2
    assert project.pushes == [] and project.plans == []
    project.env["KDEPLOY_MITOGEN"] = None
    assert project.run("setup").exit_code == 0
    assert len(project.pushes) == 1 and project.plans == ["setup"]


def test_an_accessories_only_config_is_judged_as_setup_judges_it(project: Project) -> None:
    # Such a config never deploys: no deploy check (and no deploy message); setup's apply.
    del project.config["servers"]
    checked = project.run("config", "-q")
    refused = project.run("setup", "-P")
    assert (checked.exit_code, _error(checked)) == (refused.exit_code, _error(refused))
    assert "deploy" not in checked.output


@pytest.mark.parametrize("quiet", [True, False])
def test_config_checks_without_importing_ansible(project: Project, quiet: bool) -> None:
    project.write()
    flags = ["-q"] if quiet else ["--json"]
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "kdeploy", "config",
                             *flags], capture_output=True, text=True, env={"VERSION": "v1"},
                            cwd=project.directory, check=False)
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "kdeploy.run.preflight" in imported
    assert not [m for m in imported if m.split(".")[0] in ("ansible", "ansible_runner")]


