"""Plans of `kdeploy accessory …`: parts, tags, limit, lock, extra vars and secrets, exactly."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan.accessory import (
    AccessoryLogsOptions,
    AccessoryOptions,
    accessory_hosts,
    build_accessory_exec_plan,
    build_accessory_logs_plan,
    build_accessory_plan,
    build_accessory_ssh_plan,
    to_sentence,
)
from kdeploy.plan.model import PlaybookImport

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
# web: 10.0.10.1; mysql on 10.0.10.2; redis (service custom-redis) on 10.0.10.3-4.
ACCESSORIES = "deploy_with_accessories.yml"


def _config(name: str = ACCESSORIES, version: str | None = "v1"):  # type: ignore[no-untyped-def]
    # replace: without --version, load_config would ask git (the fixtures live in a repo).
    return replace(load_config(FIXTURES / name, version="v1", environ={}), version=version)


def _parts(plan) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:  # type: ignore[no-untyped-def]
    return [(entry.playbook, entry.tags, entry.vars) for entry in plan.imports
            if isinstance(entry, PlaybookImport)]


def test_boot_all_locks_boots_each_accessory_in_config_order_and_reports() -> None:
    plan = build_accessory_plan(context(_config(), performer="me"), "boot", "all")
    assert _parts(plan) == [
        # Before the lock: refuse a name another destination's container holds (spec: boot).
        ("accessory_destination_check.yml", ("always", "accessory"),
         {"accessory_check_action": "boot",
          "accessory_check_names": "mysql,redis"}),
        ("lock_acquire.yml", ("lock",), {}),
        ("accessory_boot.yml", ("accessory", "accessory_mysql"),
         {"accessory_name": "mysql"}),
        ("accessory_boot.yml", ("accessory", "accessory_redis"),
         {"accessory_name": "redis"}),
        ("accessory_report.yml", ("accessory",), {}),
        ("lock_release.yml", ("lock",), {}),
    ]
    # The lock host (the primary host) must be inside the limit for the lock play.
    assert plan.limit == "10.0.10.2,10.0.10.3,10.0.10.4,10.0.10.1"
    assert plan.lock_host == "10.0.10.1"
    assert plan.extravars == {
        "kdeploy_performer": "me", "accessory_report": True,
        "kdeploy_lock_host": "10.0.10.1", "lock_message": "Automatic deploy lock",
        "kdeploy_version": "v1",
    }
    assert (plan.command, plan.playbook) == ("accessory boot", "kdeploy_accessory_boot.yml")
    assert plan.report_task == "Report what the accessory commands did."


def test_restart_is_stop_then_start_per_accessory() -> None:
    plan = build_accessory_plan(context(_config()), "restart", "mysql")
    parts = _parts(plan)
    assert [part for part, _, _ in parts] == [
        "accessory_destination_check.yml", "lock_acquire.yml", "accessory_stop.yml",
        "accessory_start.yml", "lock_release.yml"]
    assert parts[0][2] == {"accessory_check_action": "restart",
                           "accessory_check_names": "mysql"}
    assert plan.report_task is None


@pytest.mark.parametrize("action", ["details", "logs", "exec"])
def test_read_commands_take_no_lock(action: str) -> None:
    if action == "exec":
        plan = build_accessory_exec_plan(context(_config()), "redis", ("date",), False)
    else:
        plan = build_accessory_plan(context(_config()), action, "redis")
    assert plan.lock_host is None
    assert "lock_acquire.yml" not in [part for part, _, _ in _parts(plan)]
    assert plan.limit == "10.0.10.3,10.0.10.4"


def test_remove_passes_purge_and_reports_what_was_kept() -> None:
    kept = build_accessory_plan(context(_config()), "remove", "mysql")
    purged = build_accessory_plan(context(_config()), "remove", "mysql",
                                  AccessoryOptions(purge=True))
    assert kept.extravars["accessory_purge"] is False
    assert purged.extravars["accessory_purge"] is True
    assert "accessory_report.yml" in [part for part, _, _ in _parts(kept)]


def test_upgrade_reboots_and_rolling_goes_one_host_at_a_time() -> None:
    plan = build_accessory_plan(context(_config()), "upgrade", "redis",
                                AccessoryOptions(rolling=True))
    assert "accessory_reboot.yml" in [part for part, _, _ in _parts(plan)]
    assert plan.extravars["accessory_serial"] == 1
    plain = build_accessory_plan(context(_config()), "upgrade", "redis")
    assert "accessory_serial" not in plain.extravars


def test_role_filter_keeps_accessories_on_the_roles_hosts_and_drops_dedicated_ones() -> None:
    # Kamal's "accessory hosts with role filtering": accessories on their own hosts are dropped.
    assert accessory_hosts(context(_config(), roles="web"), "all") == {}
    with pytest.raises(UsageError, match="No hosts of accessory mysql match the filters"):
        build_accessory_plan(context(_config(), roles="web"), "boot", "mysql")
    # -h reaches accessory-only hosts; only the matching hosts of each accessory stay.
    assert accessory_hosts(context(_config(), hosts="10.0.10.4"), "all") == {
        "redis": ("10.0.10.4",)}


def test_unknown_accessory_is_kamals_message() -> None:
    with pytest.raises(UsageError) as error:
        build_accessory_plan(context(_config()), "boot", "postgres")
    assert error.value.message == (
        "No accessory by the name of 'postgres' (options: mysql and redis)")
    assert error.value.exit_code == 2


def test_to_sentence_is_active_supports() -> None:
    assert [to_sentence(words) for words in (("a",), ("a", "b"), ("a", "b", "c"))] == [
        "a", "a and b", "a, b, and c"]


def test_locked_commands_need_a_version_for_the_lock_details() -> None:
    with pytest.raises(UsageError, match="No version for the lock details"):
        build_accessory_plan(context(_config(version=None)), "stop", "mysql")
    # Reading needs no version.
    build_accessory_plan(context(_config(version=None)), "details", "mysql")


def test_unknown_action_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Unknown accessory action"):
        build_accessory_plan(context(_config()), "explode", "mysql")


def test_logs_defaults_are_kamals() -> None:
    plan = build_accessory_logs_plan(context(_config()), "mysql", AccessoryLogsOptions())
    assert plan.extravars["accessory_logs_lines"] == 100
    assert plan.extravars["accessory_logs_timestamps"] is True
    grep = build_accessory_logs_plan(context(_config()), "mysql",
                                     AccessoryLogsOptions(grep="{{ x }}", skip_timestamps=True))
    # All lines with a grep; the pattern as typed (written !unsafe with every extra var).
    assert grep.extravars["accessory_logs_lines"] == -1
    assert grep.extravars["accessory_logs_grep"] == "{{ x }}"
    assert grep.extravars["accessory_logs_timestamps"] is False


def test_exec_joins_the_command_and_passes_the_options_as_docker_flags() -> None:
    plan = build_accessory_exec_plan(context(_config()), "mysql",
                                     ("mysql ", "-e", "'select 1'"), reuse=False)
    assert plan.extravars["accessory_exec_command"] == "mysql -e 'select 1'"
    assert plan.extravars["accessory_option_args"] == ["--cpus", "2"]
    assert plan.extravars["accessory_exec_reuse"] is False
    assert plan.report_task == "Run the command in the accessory container."


@pytest.mark.parametrize(("name", "command", "message"), [
    ("mysql", (), "No command provided"),
    ("all", ("date",), "exec and logs take one accessory"),
    ("nope", ("date",), "No accessory by the name of 'nope'"),
])
def test_exec_refusals(name: str, command: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_accessory_exec_plan(context(_config()), name, command, reuse=True)


def test_ssh_plan_renders_on_the_accessorys_first_filtered_host() -> None:
    plan = build_accessory_ssh_plan(context(_config()), "redis", "follow_logs",
                                    logs=AccessoryLogsOptions(grep="ERR"))
    assert plan.limit == "10.0.10.3"
    assert plan.extravars["accessory_ssh_host"] == "10.0.10.3"
    assert plan.extravars["accessory_logs_grep"] == "ERR"
    second = build_accessory_ssh_plan(context(_config(), hosts="10.0.10.4"), "redis",
                                      "exec", command=("redis-cli",), tty=False)
    assert (second.limit, second.extravars["accessory_interactive_args"]) == (
        "10.0.10.4", "-i")
    assert second.command == "accessory exec"


def test_secrets_are_the_accessorys_env_and_registry_login_for_booting_only(
        tmp_path: Path) -> None:
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir()
    config_file.write_text(
        "service: app\nimage: app\nservers: [10.0.0.1]\n"
        "registry: {server: reg.example, username: u, password: [REG_PW]}\n"
        "builder: {arch: amd64}\n"
        "accessories:\n  db:\n    image: pg\n    host: 10.0.0.1\n"
        "    env: {secret: [DB_PW, DB_USER:DB_USER_ALIAS]}\n")
    config = load_config(config_file, version="v1", environ={})
    boot = build_accessory_plan(context(config), "boot", "db")
    assert boot.secret_names == ("DB_PW", "DB_USER_ALIAS", "REG_PW")
    assert build_accessory_plan(context(config), "stop", "db").secret_names == ()


def _erb_lookup():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[2] / "plugins" / "lookup" / "erb.py"
    spec = importlib.util.spec_from_file_location("erb", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.LookupModule()


def test_erb_files_are_rendered_with_the_accessory_env(tmp_path: Path) -> None:
    template = tmp_path / "my.cnf.erb"
    template.write_text('user=<%= ENV["DB_USER"] %>\npassword=<%= ENV["DB_PASSWORD"] %>\n')
    rendered = _erb_lookup().run([str(template)], variables={},
                                 env={"DB_USER": "app", "DB_PASSWORD": "s3cret"})
    assert rendered == ["user=app\npassword=s3cret\n"]


def test_erb_lookup_names_a_missing_file(tmp_path: Path) -> None:
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError, match="Missing file"):
        _erb_lookup().run([str(tmp_path / "nope.erb")], variables={}, env={})
