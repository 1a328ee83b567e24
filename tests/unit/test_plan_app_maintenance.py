"""Plans of `kdeploy app maintenance` and `app live`, then the kamal-proxy argv they run.

Kamal 2.11 (cli/app.rb, commands/app/proxy.rb, configuration/proxy.rb): under the lock, on the
filtered proxy hosts, per role behind the proxy `docker exec kamal-proxy kamal-proxy stop
<service> --drain-timeout="<n>s" [--message="<msg>"]` or `... resume <service>`. The last tests
run the generated playbooks on this machine with a fake `docker` that records its argv.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from context_helpers import context
from test_plan_app_commands import REGISTRY, _argv, _config, _run_locally

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.host_contract.kamal_proxy import stop_args
from kdeploy.plan import PlaybookImport
from kdeploy.plan.app_maintenance import MaintenanceOptions, build_app_maintenance_plan
from kdeploy.sandbox.example import deploy_config

LOCK = PlaybookImport("lock_acquire.yml", ("lock",))
UNLOCK = PlaybookImport("lock_release.yml", ("lock",))


@pytest.mark.parametrize("action", ["maintenance", "live"])
def test_both_run_their_part_on_the_proxy_hosts_under_the_lock(action: str) -> None:
    plan = build_app_maintenance_plan(context(_config(), performer="ops@x"), action)
    assert plan.command == f"app {action}"
    assert plan.playbook == f"kdeploy_app_{action}.yml"
    assert plan.imports == (LOCK, PlaybookImport(f"app_{action}.yml", ("app",)), UNLOCK)
    # Only web runs behind the proxy (the primary role); workers' hosts are left out.
    assert plan.limit == "10.0.3.1,10.0.3.2"
    assert plan.lock_host == "10.0.3.1"
    assert plan.extravars["app_ops_roles"] == ["web", "workers"]
    assert (plan.extravars["kdeploy_version"], plan.extravars["kdeploy_performer"]) == (
        "v1", "ops@x")


def test_maintenance_passes_kamals_stop_arguments() -> None:
    plan = build_app_maintenance_plan(context(_config()), "maintenance")
    # No option: Kamal passes the config's drain_timeout (30) and no message.
    assert plan.extravars["app_ops_proxy_stop_args"] == ["--drain-timeout=30s"]
    assert plan.extravars["app_ops_maintenance_message"] == ""
    assert plan.extravars["app_ops_maintenance_drain_timeout"] == 30
    plan = build_app_maintenance_plan(context(_config()), "maintenance",
                                      MaintenanceOptions(drain_timeout=5, message="Back at 5"))
    assert plan.extravars["app_ops_proxy_stop_args"] == ["--drain-timeout=5s",
                                                         "--message=Back at 5"]
    assert plan.extravars["app_ops_maintenance_message"] == "Back at 5"
    assert "app_ops_proxy_stop_args" not in build_app_maintenance_plan(
        context(_config()), "live").extravars


@pytest.mark.parametrize(("drain_timeout", "message", "argv"), [
    (2.5, None, ["--drain-timeout=2.5s"]),
    # What the process gets from Kamal's escape_shell_value: `$` and quotes arrive as typed.
    (30, 'Back "soon", costs $5', ['--drain-timeout=30s', '--message=Back "soon", costs $5']),
    (30, "", ["--drain-timeout=30s", "--message="]),
])
def test_stop_args_are_kamals_optionize(drain_timeout: float, message: str | None,
                                        argv: list[str]) -> None:
    assert stop_args(drain_timeout, message) == argv


def test_a_selection_without_a_proxy_role_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="No proxy hosts inside the filters"):
        build_app_maintenance_plan(context(_config(), roles="workers"), "maintenance")
    with pytest.raises(UsageError, match="Unknown app action stop"):
        build_app_maintenance_plan(context(_config()), "stop")


def test_both_need_a_version_for_the_lock_like_kamal() -> None:
    config = replace(_config(), version=None)
    for action in ("maintenance", "live"):
        with pytest.raises(UsageError, match="No version for the lock details"):
            build_app_maintenance_plan(context(config), action)


def test_the_lock_host_joins_the_limit() -> None:
    # -h names a workers host first: the lock goes there, the proxy work to the web host.
    plan = build_app_maintenance_plan(context(_config(), hosts="10.0.3.3,10.0.3.2"), "live")
    assert plan.lock_host == "10.0.3.3"
    assert plan.limit == "10.0.3.2,10.0.3.3"


@pytest.fixture
def proxied_config(tmp_path: Path) -> Path:
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1", "10.0.99.2"])
    config["servers"]["web"]["proxy"] = True
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(config))
    return config_file


def test_maintenance_runs_kamals_kamal_proxy_stop(proxied_config: Path, tmp_path: Path) -> None:
    config = load_config(proxied_config, version="v1", environ={})
    plan = build_app_maintenance_plan(
        context(config, hosts="10.0.99.1"), "maintenance",
        MaintenanceOptions(drain_timeout=5, message="Back at 5 o'clock"))
    assert _run_locally(proxied_config, plan, tmp_path) == [_argv(
        "docker exec kamal-proxy kamal-proxy stop kdeploy-demo-web --drain-timeout=\"5s\" "
        "--message=\"Back at 5 o'clock\"")]


def test_live_runs_kamals_kamal_proxy_resume(proxied_config: Path, tmp_path: Path) -> None:
    config = load_config(proxied_config, version="v1", environ={})
    plan = build_app_maintenance_plan(context(config, hosts="10.0.99.1"), "live")
    assert _run_locally(proxied_config, plan, tmp_path) == [
        _argv("docker exec kamal-proxy kamal-proxy resume kdeploy-demo-web")]
