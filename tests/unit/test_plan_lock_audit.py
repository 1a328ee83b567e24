"""Plans of `kdeploy lock acquire|release|status` and `kdeploy audit`: whole selections."""

from __future__ import annotations

from pathlib import Path

import pytest
from context_helpers import context

from kdeploy import ansible_yaml
from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.host_contract.inventory import render_inventory
from kdeploy.plan import (
    PlaybookImport,
    build_audit_plan,
    build_lock_plan,
)
from kdeploy.selection import CommandContext, Filters
from kdeploy.selection.context import find_lock_owner

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _config(name: str = "deploy_founding_case_web_new.yml", **kwargs):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version="v1", environ={}, **kwargs)


def test_the_lock_owner_is_gits_user_name_as_kamal_writes_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitconfig").write_text("[user]\n\tname = Ann Ops\n\temail = ann@example.com\n")
    assert find_lock_owner() == "Ann Ops"
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert find_lock_owner() == "Unknown"


def test_lock_acquire_takes_the_lock_on_the_primary_host_with_kamal_details() -> None:
    plan = build_lock_plan(context(_config(), performer="ops@example.com"), "acquire",
                           "fixing db")
    assert plan.command == "lock acquire"
    assert plan.playbook == "kdeploy_lock_acquire.yml"
    assert plan.imports == (PlaybookImport("lock_acquire.yml", ("lock",)),)
    assert plan.extravars == {
        "kdeploy_lock_host": "10.0.0.1", "kdeploy_version": "v1",
        "lock_message": "fixing db", "kdeploy_performer": "ops@example.com",
        # Kamal's `Locked by:` is git's user.name, the audit log's performer its email.
        "lock_performer": "Kay Deploy",
    }
    assert (plan.tags, plan.skip_tags, plan.limit) == ((), (), None)
    assert plan.ansible_playbook_args() == []
    assert plan.report_task == "Take the deploy lock."
    # The command is the lock: kdeploy's release-after-failure safety net must not touch it.
    assert plan.lock_host is None
    assert plan.secret_names == ()


@pytest.mark.parametrize(("action", "part", "task"), [
    ("release", "lock_release.yml", "Release the deploy lock."),
    ("status", "lock_status.yml", "Read the deploy lock."),
])
def test_lock_release_and_status_need_only_the_lock_host(action: str, part: str,
                                                         task: str) -> None:
    plan = build_lock_plan(context(_config()), action)
    assert plan.command == f"lock {action}"
    assert plan.playbook == f"kdeploy_lock_{action}.yml"
    assert plan.imports == (PlaybookImport(part, ("lock",)),)
    assert plan.extravars == {"kdeploy_lock_host": "10.0.0.1"}
    assert (plan.tags, plan.skip_tags, plan.limit, plan.lock_host) == ((), (), None, None)
    assert plan.report_task == task


@pytest.mark.parametrize(("options", "lock_host"), [
    (Filters(roles="web_new"), "10.0.0.2"),
    (Filters(roles="web*"), "10.0.0.1"),
    (Filters(hosts="10.0.0.2"), "10.0.0.2"),
    (Filters(primary=True), "10.0.0.1"),
    (Filters(roles="web_new", primary=True), "10.0.0.2"),
])
def test_filters_move_the_lock_to_the_filtered_primary_host(options: Filters,
                                                            lock_host: str) -> None:
    # Kamal: the lock lives on the filtered primary host, so -r web and -r web_new lock apart.
    for action in ("acquire", "release", "status"):
        plan = build_lock_plan(CommandContext(_config(), options, performer="kdeploy"), action)
        assert plan.extravars["kdeploy_lock_host"] == lock_host


def test_lock_with_a_destination_keeps_the_inventory_name() -> None:
    config = _config("deploy_with_destinations.yml", destination="staging")
    plan = build_lock_plan(context(config), "status")
    assert plan.extravars == {"kdeploy_lock_host": "10.0.30.11"}
    # The lock dir (~/.kamal/lock-app-staging) and audit log stems come from the inventory.
    inventory = ansible_yaml.load(render_inventory(config))
    assert inventory["all"]["vars"]["kdeploy_service_with_destination"] == "app-staging"


def test_lock_acquire_without_a_version_says_where_one_comes_from(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.write_text((FIXTURES / "deploy_founding_case_web_new.yml").read_text())
    config = load_config(config_file, environ={})
    with pytest.raises(UsageError, match="pass --version"):
        build_lock_plan(context(config), "acquire", "m")
    # Reading or releasing the lock needs no version.
    assert build_lock_plan(context(config), "status").extravars == {
        "kdeploy_lock_host": "10.0.0.1"}


def test_lock_errors_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_lock_plan(context(_config(), roles="nope"), "status")
    with pytest.raises(UsageError, match="Unknown lock action steal"):
        build_lock_plan(context(_config()), "steal")


def test_audit_reads_every_host_without_a_filter() -> None:
    plan = build_audit_plan(context(_config()))
    assert plan.command == "audit"
    assert plan.playbook == "kdeploy_audit.yml"
    assert plan.imports == (PlaybookImport("audit.yml", ("audit",)),)
    assert (plan.tags, plan.skip_tags, plan.limit, plan.lock_host) == ((), (), None, None)
    assert plan.extravars == {}
    assert plan.secret_names == ()
    assert plan.report_task == "Read the audit log."


@pytest.mark.parametrize(("options", "limit"), [
    (Filters(roles="web_new"), "10.0.0.2"),
    (Filters(roles="web"), "10.0.0.1"),
    (Filters(hosts="10.0.0.*"), "10.0.0.1,10.0.0.2"),
    (Filters(primary=True), "10.0.0.1"),
])
def test_audit_limits_to_the_filtered_hosts(options: Filters, limit: str) -> None:
    plan = build_audit_plan(CommandContext(_config(), options, performer="kdeploy"))
    assert plan.ansible_playbook_args() == ["--limit", limit]


def test_audit_with_an_unknown_host_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"No --hosts match for 10\.9\.9\.9"):
        build_audit_plan(context(_config(), hosts="10.9.9.9"))
