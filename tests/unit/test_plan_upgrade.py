"""The plan of `kdeploy upgrade` (Kamal's `kamal upgrade` from Kamal 1): steps, hosts, hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan import HostsPlay, Plan, PlaybookImport
from kdeploy.plan.hook_points import hook_points
from kdeploy.plan.split import split_plan
from kdeploy.plan.upgrade import build_upgrade_plan

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
# web on 10.0.10.1 (behind the proxy), mysql on .2, redis on .3 and .4.
ACCESSORIES = "deploy_with_accessories.yml"
ALL = ("10.0.10.1", "10.0.10.2", "10.0.10.3", "10.0.10.4")


def _plan(name: str = ACCESSORIES, rolling: bool = False, **filters: str) -> Plan:
    config = load_config(FIXTURES / name, version="latest", environ={})
    return build_upgrade_plan(context(config, **filters), rolling)


def _steps(plan: Plan) -> list[tuple[str, str | None]]:
    return [(unit.name, unit.hosts) if isinstance(unit, HostsPlay)
            else (unit.playbook, unit.vars.get("proxy_hosts")) for unit in plan.imports]


def test_at_once_traefik_goes_then_proxy_app_prune_then_accessories_inside_the_lock() -> None:
    plan = _plan()
    assert _steps(plan) == [
        ("accessory_destination_check.yml", None), ("lock_acquire.yml", None),
        ("Remove Traefik (Kamal 1's proxy)", ",".join(ALL)),
        ("proxy_reboot.yml", "10.0.10.1"),
        ("Boot the app", "10.0.10.1"),
        ("Prune old containers and images", ",".join(ALL)),
        ("Reboot the accessory mysql", "10.0.10.2"),
        ("Reboot the accessory redis", "10.0.10.3,10.0.10.4"),
        ("lock_release.yml", None)]
    assert (plan.command, plan.lock_host, plan.limit) == ("upgrade", "10.0.10.1", ",".join(ALL))
    # The app boots from the image tagged latest; Kamal's lock message; prune keeps 5.
    assert plan.extravars["kdeploy_version"] == "latest"
    assert plan.extravars["lock_message"] == "Automatic deploy lock"
    assert plan.extravars["prune_retain"] == 5
    assert plan.extravars["kdeploy_pull"] is False


def test_rolling_upgrades_one_host_at_a_time_proxy_only_on_app_hosts() -> None:
    plan = _plan(rolling=True)
    assert _steps(plan)[2:-1] == [
        ("Remove Traefik (Kamal 1's proxy)", "10.0.10.1"),
        ("proxy_reboot.yml", "10.0.10.1"),
        ("Boot the app", "10.0.10.1"),
        ("Prune old containers and images", "10.0.10.1"),
        ("Reboot the accessory mysql", "10.0.10.2"),
        ("Reboot the accessory redis", "10.0.10.3"),
        ("Reboot the accessory redis", "10.0.10.4")]


def test_rolling_boots_name_every_app_hosts_roles() -> None:
    # One host per boot play, one run: each boot play carries its own host's role.
    plan = _plan("deploy_with_roles.yml", rolling=True)
    boots = [play for play in plan.imports
             if isinstance(play, HostsPlay) and play.name.startswith("Boot the app")]
    assert [play.tasks[0].vars["kdeploy_slot_roles"] for play in boots] == [
        {"10.0.3.1": "web"}, {"10.0.3.2": "web"}, {"10.0.3.3": "workers"},
        {"10.0.3.4": "workers"}]
    assert "kdeploy_boot_roles" not in plan.extravars


def test_the_proxy_reboot_hooks_surround_each_hosts_proxy_upgrade() -> None:
    plan = _plan("deploy_with_roles.yml", rolling=True)  # web .3.1-2 (proxy), workers .3.3-4
    points = [(point.hook, point.hosts) for point in hook_points(plan)]
    assert points[:5] == [
        ("pre-connect", None), ("pre-proxy-reboot", ("10.0.3.1",)),
        ("pre-app-boot", ("10.0.3.1",)), ("post-app-boot", ("10.0.3.1",)),
        ("post-proxy-reboot", ("10.0.3.1",))]
    assert len(points) == 1 + 4 * 4  # every host is an app host there
    steps = split_plan(plan, hook_points(plan), {"pre-proxy-reboot", "post-proxy-reboot"})
    hooks = [step.hook for step in steps if hasattr(step, "hook")]
    assert hooks == ["pre-proxy-reboot", "post-proxy-reboot"] * 4


def test_a_config_without_proxy_roles_reboots_no_proxy_but_still_removes_traefik() -> None:
    plan = _plan("deploy_with_roles.yml", roles="workers")
    steps = _steps(plan)
    assert ("Remove Traefik (Kamal 1's proxy)", "10.0.3.3,10.0.3.4") in steps
    assert not [step for step in steps if step[0] == "proxy_reboot.yml"]
    assert ("Boot the app", "10.0.3.3,10.0.3.4") in steps


def test_filters_narrow_every_step_and_the_secrets_are_the_steps_own() -> None:
    plan = _plan("deploy_with_roles.yml", hosts="10.0.3.2")
    assert {hosts for _, hosts in _steps(plan) if hosts} == {"10.0.3.2"}
    assert plan.secret_names == ("KAMAL_REGISTRY_PASSWORD",)


def test_a_config_without_servers_has_no_lock_host_and_says_so() -> None:
    with pytest.raises(UsageError, match="No host to hold the deploy lock: the config has no "
                                         "servers"):
        _plan("deploy_with_only_accessories.yml")


def test_parts_of_the_plan_are_collection_playbooks() -> None:
    # Every imported part exists in playbooks/ (a typo would fail only on the hosts).
    playbooks = Path(__file__).parents[2] / "playbooks"
    for unit in _plan().imports:
        if isinstance(unit, PlaybookImport):
            assert (playbooks / unit.playbook).is_file(), unit.playbook
