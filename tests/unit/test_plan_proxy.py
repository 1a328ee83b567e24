"""Plans of `proxy …` and the proxy steps of deploy and setup: hosts, lock, rolling, hooks."""

from __future__ import annotations

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
from kdeploy.plan.hook_points import hook_points
from kdeploy.plan.proxy import (
    ProxyLogsOptions,
    ProxyOptions,
    build_proxy_logs_plan,
    build_proxy_plan,
)
from kdeploy.plan.split import split_plan

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
WEB = ("10.0.3.1", "10.0.3.2")


def _config(name: str = "deploy_with_roles.yml", version: str | None = "v2"):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version=version, environ={})


def _parts(plan) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [(entry.playbook, entry.vars.get("proxy_hosts"))
            for entry in plan.imports if isinstance(entry, PlaybookImport)]


def test_boot_locks_and_reaches_only_the_proxy_roles_hosts() -> None:
    plan = build_proxy_plan(context(_config()), "boot")
    assert _parts(plan) == [("lock_acquire.yml", None), ("proxy_boot.yml", ",".join(WEB)),
                            ("lock_release.yml", None)]
    assert plan.command == "proxy boot" and plan.lock_host == "10.0.3.1"
    assert plan.limit == ",".join(WEB)  # the workers' hosts run no proxy
    assert plan.extravars["kdeploy_version"] == "v2"


def test_restart_is_stop_then_start_inside_one_lock() -> None:
    plan = build_proxy_plan(context(_config()), "restart")
    assert [part for part, _ in _parts(plan)] == [
        "lock_acquire.yml", "proxy_stop.yml", "proxy_start.yml", "lock_release.yml"]


def test_rolling_reboot_is_one_import_per_host_with_hooks_around_each() -> None:
    plan = build_proxy_plan(context(_config()), "reboot", ProxyOptions(rolling=True))
    assert _parts(plan)[1:3] == [("proxy_reboot.yml", "10.0.3.1"),
                                 ("proxy_reboot.yml", "10.0.3.2")]
    points = [(point.hook, point.hosts) for point in hook_points(plan)]
    assert points == [("pre-connect", None),
                      ("pre-proxy-reboot", ("10.0.3.1",)), ("post-proxy-reboot", ("10.0.3.1",)),
                      ("pre-proxy-reboot", ("10.0.3.2",)), ("post-proxy-reboot", ("10.0.3.2",))]
    steps = split_plan(plan, hook_points(plan), {"pre-proxy-reboot", "post-proxy-reboot"})
    kinds = [getattr(step, "hook", None) or _parts(step) for step in steps]
    assert kinds == [
        [("lock_acquire.yml", None)],
        "pre-proxy-reboot", [("proxy_reboot.yml", "10.0.3.1")], "post-proxy-reboot",
        "pre-proxy-reboot", [("proxy_reboot.yml", "10.0.3.2")], "post-proxy-reboot",
        [("lock_release.yml", None)]]


def test_reboot_without_rolling_is_one_group_of_every_proxy_host() -> None:
    plan = build_proxy_plan(context(_config()), "reboot")
    assert _parts(plan)[1] == ("proxy_reboot.yml", ",".join(WEB))
    assert [point.hosts for point in hook_points(plan)][1:] == [WEB, WEB]


def test_filters_narrow_the_proxy_hosts_and_the_lock_host_joins_the_limit() -> None:
    plan = build_proxy_plan(context(_config(), hosts="10.0.3.2"), "stop")
    assert _parts(plan)[1] == ("proxy_stop.yml", "10.0.3.2")
    assert plan.limit == "10.0.3.2"


def test_no_proxy_host_inside_the_filters_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="No proxy hosts inside the filters"):
        build_proxy_plan(context(_config(), roles="workers"), "boot")


def test_remove_passes_force_and_details_reads_without_the_lock() -> None:
    remove = build_proxy_plan(context(_config()), "remove", ProxyOptions(force=True))
    assert remove.extravars["proxy_force"] is True
    details = build_proxy_plan(context(_config(version=None)), "details")
    assert _parts(details) == [("proxy_details.yml", ",".join(WEB))]
    assert details.lock_host is None and details.report_task == "Read the proxy details."


def test_logs_default_to_100_lines_unless_since_or_grep() -> None:
    plain = build_proxy_logs_plan(context(_config()), ProxyLogsOptions())
    assert plain.extravars["proxy_logs_lines"] == 100
    assert plain.extravars["proxy_logs_timestamps"] is True
    grep = build_proxy_logs_plan(context(_config()),
                                 ProxyLogsOptions(grep="GET", skip_timestamps=True))
    assert grep.extravars["proxy_logs_lines"] is None
    assert grep.extravars["proxy_logs_timestamps"] is False


def test_deploy_checks_the_pinned_image_before_the_lock_and_boots_the_proxy_after() -> None:
    plan = build_deploy_plan(context(_config()))
    parts = _parts(plan)
    assert parts[:3] == [("proxy_check.yml", ",".join(WEB)), ("lock_acquire.yml", None),
                         ("proxy_boot.yml", ",".join(WEB))]
    assert parts[-1] == ("lock_release.yml", None)
    # pre-deploy still runs right after the lock.
    steps = split_plan(plan, hook_points(plan), {"pre-deploy"})
    assert _parts(steps[0]) == parts[:2] and steps[1].hook == "pre-deploy"


@pytest.mark.parametrize("command", ["redeploy", "rollback", "app boot"])
def test_only_deploy_boots_the_proxy(command: str) -> None:
    plan = build_deploy_plan(context(_config()), command)
    assert not [part for part, _ in _parts(plan) if part.startswith("proxy_")]


def test_deploy_of_roles_without_the_proxy_has_no_proxy_step() -> None:
    plan = build_deploy_plan(context(_config(), roles="workers"))
    assert not [part for part, _ in _parts(plan) if part.startswith("proxy_")]


def test_setup_checks_then_boots_the_proxy_before_accessories_and_apps() -> None:
    plan = build_setup_plan(context(_config()), SetupOptions(skip_push=True))
    assert [part for part, _ in _parts(plan)][:2] == ["proxy_check.yml", "lock_acquire.yml"]
    plays = [(entry.name, entry.hosts, [(task.role, task.tasks_from) for task in entry.tasks])
             for entry in plan.imports if isinstance(entry, HostsPlay)]
    # Docker first on every host, then the proxy on exactly the proxy hosts, then the app.
    assert plays[:2] == [("Set up the hosts", "all", [("bootstrap", "prepare")]),
                         ("Boot the proxy", "kdeploy_proxy", [("proxy", "boot")])]
    assert all(name.startswith("Boot the app") for name, _, _ in plays[2:])


def test_role_scoped_setup_selects_the_proxy_only_for_a_proxy_role() -> None:
    web = build_setup_plan(context(_config(), roles="web"), SetupOptions(skip_push=True))
    workers = build_setup_plan(context(_config(), roles="workers"), SetupOptions(skip_push=True))
    assert "proxy" in web.tags and "proxy" not in workers.tags
