"""Plans of deploy, redeploy, rollback: boot groups, role order, rollback check, hook points."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan import (
    HostsPlay,
    PlaybookImport,
    SetupOptions,
    build_deploy_plan,
    build_setup_plan,
)
from kdeploy.plan.deploy import BOOT_PLAY, ROLLBACK_CHECK_PLAY, boot_slot
from kdeploy.plan.hook_points import hook_points
from kdeploy.plan.model import HookPoint
from kdeploy.plan.split import split_plan

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _config(name: str, version: str = "v2"):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version=version, environ={})


def _boot_plays(plan) -> list[HostsPlay]:  # type: ignore[no-untyped-def]
    return [entry for entry in plan.imports if isinstance(entry, HostsPlay)
            and entry.name.startswith(BOOT_PLAY)]


def test_deploy_is_lock_one_boot_play_unlock() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_roles.yml")))
    check, lock, proxy, boot, release = plan.imports
    assert isinstance(check, PlaybookImport) and check.playbook == "proxy_check.yml"
    assert isinstance(proxy, PlaybookImport) and proxy.playbook == "proxy_boot.yml"
    assert isinstance(lock, PlaybookImport) and lock.playbook == "lock_acquire.yml"
    assert isinstance(release, PlaybookImport) and release.playbook == "lock_release.yml"
    assert isinstance(boot, HostsPlay)
    assert (boot.name, boot.hosts, boot.strategy, boot.any_errors_fatal) == (
        BOOT_PLAY, "10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4", "linear", True)
    # One task, which every host runs: no group guard, no per-host validation.
    (task,) = boot.tasks
    assert (task.role, task.tasks_from, task.group, task.tags) == (
        "app", "release", None, ("app", "app_web", "app_workers"))
    # The primary role holds the others at the barrier, while a web host is in the play.
    assert task.vars == {"kdeploy_slot_roles": {"10.0.3.1": "web", "10.0.3.2": "web",
                                                "10.0.3.3": "workers", "10.0.3.4": "workers"},
                         "kdeploy_barrier_role": "web", "kdeploy_barrier_group": "role_web"}
    assert "kdeploy_boot_roles" not in plan.extravars  # each play carries its own map
    written = boot.as_yaml_data()
    # The role and group names are data; the release's action plugin reads them as they are.
    written_vars = written["tasks"][0]["vars"]
    assert written_vars["kdeploy_barrier_role"] == "web"
    assert type(written_vars).__name__ == "UnsafeMapping"
    # No template: the action plugin reads each host's role and the barrier from these vars.
    assert set(written_vars) == {"kdeploy_slot_roles", "kdeploy_barrier_role",
                                 "kdeploy_barrier_group"}
    # An unreachable host stops the run too.
    assert written["max_fail_percentage"] == 0
    assert plan.playbook == "deploy.yml"
    assert plan.lock_host == "10.0.3.1"
    assert plan.extravars["kdeploy_pull"] is True
    assert "kdeploy_retain_containers" not in plan.extravars
    assert plan.secret_names == ("KAMAL_REGISTRY_PASSWORD",)


def test_the_primary_role_boots_first_and_its_hosts_lead() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_primary_role.yml")))
    (boot,) = _boot_plays(plan)
    assert boot.hosts == "10.0.4.2,10.0.4.3,10.0.4.1"
    assert boot.tasks[0].vars == {
        "kdeploy_slot_roles": {"10.0.4.2": "workers", "10.0.4.3": "workers", "10.0.4.1": "web"},
        "kdeploy_barrier_role": "workers", "kdeploy_barrier_group": "role_workers"}


def test_a_host_with_two_roles_boots_its_second_in_a_play_of_its_own() -> None:
    config = _config("deploy_with_roles.yml")
    web = dataclasses.replace(config.roles[0], hosts=("10.0.3.1", "10.0.3.3"))
    plan = build_deploy_plan(context(dataclasses.replace(config, roles=(web, config.roles[1]))))
    first, second = _boot_plays(plan)
    assert (first.name, first.hosts) == (BOOT_PLAY, "10.0.3.1,10.0.3.3,10.0.3.4")
    # Only the host that has a second role gets the second play's task.
    assert (second.name, second.hosts) == (f"{BOOT_PLAY}: role 2 of each host", "10.0.3.3")
    assert first.tasks[0].vars["kdeploy_slot_roles"]["10.0.3.3"] == "web"
    assert second.tasks[0].vars["kdeploy_slot_roles"] == {"10.0.3.3": "workers"}
    assert second.tasks[0].tags == ("app", "app_workers")
    assert [boot_slot(play.name) for play in (first, second)] == [0, 1]
    assert boot_slot("Boot the app roles") is None


def test_boot_limit_percent_splits_hosts_into_groups_with_a_wait_between() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_boot.yml")))
    groups = _boot_plays(plan)
    # 25% of 4 hosts: one host per group; boot/wait 2 after every group but the last.
    assert [group.hosts for group in groups] == ["10.0.23.1", "10.0.23.2", "10.0.23.3",
                                                  "10.0.23.4"]
    assert [group.pause_after for group in groups] == [2, 2, 2, 0]
    assert groups[0].name == f"{BOOT_PLAY} (group 1 of 4)"
    pause = groups[0].as_yaml_data()["tasks"][-1]
    assert pause["ansible.builtin.pause"] == {"seconds": 2}
    assert "ansible.builtin.pause" not in str(groups[-1].as_yaml_data())


def test_only_the_first_group_with_other_roles_has_a_barrier() -> None:
    config = _config("deploy_with_roles.yml")
    limited = dataclasses.replace(config, boot=dataclasses.replace(config.boot, limit=2))
    groups = _boot_plays(build_deploy_plan(context(limited)))
    # Group 1 holds only web hosts: nothing waits. Group 2 comes after group 1 succeeded, so the
    # barrier is open by then (Kamal's one barrier for all groups).
    assert [(group.hosts, group.tasks[0].vars) for group in groups] == [
        ("10.0.3.1,10.0.3.2", {"kdeploy_slot_roles": {"10.0.3.1": "web", "10.0.3.2": "web"}}),
        ("10.0.3.3,10.0.3.4", {"kdeploy_slot_roles": {"10.0.3.3": "workers",
                                                      "10.0.3.4": "workers"}})]
    mixed = dataclasses.replace(config, boot=dataclasses.replace(config.boot, limit=3))
    groups = _boot_plays(build_deploy_plan(context(mixed)))
    assert [{name: value for name, value in group.tasks[0].vars.items()
             if name != "kdeploy_slot_roles"} for group in groups] == [
        {"kdeploy_barrier_role": "web", "kdeploy_barrier_group": "role_web"}, {}]


def test_a_group_only_boots_the_roles_it_has_hosts_of() -> None:
    config = _config("deploy_with_roles.yml")
    plan = build_deploy_plan(context(config, roles="workers"))
    (boot,) = _boot_plays(plan)
    assert boot.name == BOOT_PLAY and boot.hosts == "10.0.3.3,10.0.3.4"
    assert boot.tasks[0].vars == {"kdeploy_slot_roles": {"10.0.3.3": "workers",
                                                         "10.0.3.4": "workers"}}
    assert boot.tasks[0].tags == ("app", "app_workers")
    assert plan.lock_host == "10.0.3.3"


def test_redeploy_and_rollback_keep_stopped_containers_and_rollback_does_not_pull() -> None:
    config = _config("deploy_with_roles.yml")
    redeploy = build_deploy_plan(context(config), "redeploy")
    rollback = build_deploy_plan(context(config), "rollback")
    assert redeploy.extravars["kdeploy_pull"] is True
    assert rollback.extravars["kdeploy_pull"] is False
    for plan in (redeploy, rollback):
        assert plan.extravars["kdeploy_retain_containers"] is None


def test_rollback_checks_every_role_on_every_host_before_booting() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_roles.yml")), "rollback")
    _lock, check, *boots, _release = plan.imports
    assert isinstance(check, HostsPlay) and check.name == ROLLBACK_CHECK_PLAY
    assert check.any_errors_fatal
    assert check.hosts.split(",") == [h for boot in boots for h in boot.hosts.split(",")]
    assert [(t.tasks_from, t.vars["app_role"]) for t in check.tasks] == [
        ("version_exists", "web"), ("version_exists", "workers")]
    assert check.as_yaml_data()["tasks"][0]["ansible.builtin.import_role"] == {
        "name": "kdeploy.deploy.app", "tasks_from": "version_exists",
        "rolespec_validate": False}


def test_no_version_or_no_app_host_is_a_usage_error() -> None:
    no_version = dataclasses.replace(_config("deploy_with_roles.yml"), version=None)
    with pytest.raises(UsageError, match="No version to deploy"):
        build_deploy_plan(context(no_version))
    with pytest.raises(UsageError, match="No app hosts to deploy"):
        build_deploy_plan(context(_config("deploy_with_only_accessories.yml")))


def test_unknown_role_filter_is_kamals_message() -> None:
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_deploy_plan(context(_config("deploy_with_roles.yml"), roles="nope"))


def _steps(plan, running: set[str]) -> list[str]:  # type: ignore[no-untyped-def]
    names = []
    for step in split_plan(plan, hook_points(plan), running):
        if isinstance(step, HookPoint):
            names.append(f"hook {step.hook} {','.join(step.hosts or ())}".rstrip())
        else:
            names.append(" + ".join(getattr(e, "name", None) or e.playbook for e in step.imports))
    return names


def test_deploy_hooks_sit_where_kamal_runs_them_with_each_group_hosts() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_boot.yml")))
    running = {"pre-connect", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy"}
    steps = _steps(plan, running)
    assert steps[:4] == ["hook pre-connect", "proxy_check.yml + lock_acquire.yml",
                         "hook pre-deploy", "proxy_boot.yml"]
    steps.remove("proxy_boot.yml")
    assert steps[3] == "hook pre-app-boot 10.0.23.1"
    assert steps[4] == f"{BOOT_PLAY} (group 1 of 4)"
    assert steps[5:7] == ["hook post-app-boot 10.0.23.1", "hook pre-app-boot 10.0.23.2"]
    assert steps[-3:] == ["hook post-app-boot 10.0.23.4", "lock_release.yml",
                          "hook post-deploy"]


def test_rollback_runs_pre_deploy_after_its_check() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_roles.yml")), "rollback")
    assert _steps(plan, {"pre-deploy"}) == [
        f"lock_acquire.yml + {ROLLBACK_CHECK_PLAY}", "hook pre-deploy",
        f"{BOOT_PLAY} + lock_release.yml"]


def test_without_hooks_the_plan_stays_one_run() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_boot.yml")))
    assert split_plan(plan, hook_points(plan), set()) == [plan]


def test_only_a_proxied_accessory_gets_a_notice() -> None:
    plan = build_deploy_plan(context(_config("deploy_founding_case_web_new.yml")))
    assert plan.notices == ()
    setup = build_setup_plan(context(_config("deploy_with_proxied_accessory.yml")),
                             SetupOptions(skip_push=True))
    assert [notice.split(";")[0] for notice in setup.notices] == [
        "Accessory netdata runs behind kamal-proxy in Kamal"]


def test_boot_hooks_wrap_every_role_of_a_group() -> None:
    plan = build_deploy_plan(context(_config("deploy_with_roles.yml")))
    assert _steps(plan, {"pre-app-boot", "post-app-boot"}) == [
        "proxy_check.yml + lock_acquire.yml + proxy_boot.yml",
        "hook pre-app-boot 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4",
        BOOT_PLAY,
        "hook post-app-boot 10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4", "lock_release.yml"]
