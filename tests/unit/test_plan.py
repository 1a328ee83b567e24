from __future__ import annotations

from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan import (
    HostsPlay,
    PlaybookImport,
    RoleImport,
    SetupOptions,
    build_deploy_plan,
    build_setup_plan,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _config(name: str):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version="v1", environ={})


def test_full_setup_runs_every_play_without_a_selection() -> None:
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml")),
                            SetupOptions(skip_push=True))
    check, proxy_check, lock, hosts, proxy, db, boot, release = plan.imports
    # A running proxy must run the pinned image: checked before the lock too.
    assert proxy_check == PlaybookImport("proxy_check.yml", ("proxy",))
    # The destination check runs first, before the lock (always, on the accessory hosts).
    assert check == PlaybookImport("accessory_destination_check.yml", ("always", "accessory"),
                                   {"accessory_check_action": "boot"})
    assert isinstance(lock, PlaybookImport) and isinstance(release, PlaybookImport)
    assert (lock.playbook, lock.tags, release.playbook, release.tags) == (
        "lock_acquire.yml", ("lock",), "lock_release.yml", ("lock",))
    # Docker on every host, then the proxy and each accessory on exactly their group's hosts:
    # no host is sent a task its group guard would skip.
    plays = [hosts, proxy, db]
    assert all(isinstance(play, HostsPlay) and play.strategy == "free" for play in plays)
    assert [(play.name, play.hosts) for play in plays] == [  # type: ignore[union-attr]
        ("Set up the hosts", "all"), ("Boot the proxy", "kdeploy_proxy"),
        ("Boot the accessory db", "accessory_db")]
    assert [(task.role, task.tags, task.vars, task.group)
            for play in plays for task in play.tasks] == [  # type: ignore[union-attr]
        ("bootstrap", ("bootstrap",), {}, None),
        ("proxy", ("proxy",), {}, None),
        ("accessory", ("accessory", "accessory_db"), {"accessory_name": "db"}, None),
    ]
    # The app boots as deploy boots it, after the accessories' play boundary: one linear,
    # fatal play of one task per host, the host's role from the task's `kdeploy_slot_roles`.
    assert isinstance(boot, HostsPlay)
    assert (boot.name, boot.hosts, boot.strategy, boot.any_errors_fatal) == (
        "Boot the app", "10.0.0.1,10.0.0.2", "linear", True)
    (task,) = boot.tasks
    assert (task.role, task.tasks_from, task.tags, task.group) == (
        "app", "release", ("app", "app_web", "app_web_new"), None)
    # Kamal's role barrier, held only while a web host is among the play's hosts (below).
    assert task.vars == {"kdeploy_slot_roles": {"10.0.0.1": "web", "10.0.0.2": "web_new"},
                         "kdeploy_barrier_role": "web", "kdeploy_barrier_group": "role_web"}
    assert (plan.tags, plan.skip_tags, plan.limit) == ((), (), None)
    assert plan.lock_host == "10.0.0.1"
    assert plan.notices == ()


def test_setup_boots_the_app_in_the_boot_groups_of_deploy() -> None:
    # Kamal's setup runs its deploy: boot/limit groups, boot/wait between them, the role
    # barrier in the first group, and the boot hooks around each group.
    context_ = context(_config("deploy_with_boot.yml"))
    setup = build_setup_plan(context_, SetupOptions(skip_push=True))
    deploy = build_deploy_plan(context_)
    setup_boots = [play for play in setup.imports
                   if isinstance(play, HostsPlay) and play.name.startswith("Boot the app")]
    deploy_boots = [play for play in deploy.imports if isinstance(play, HostsPlay)]
    assert len(setup_boots) == 4
    assert setup_boots == deploy_boots
    boot_hooks = [(point.hook, point.hosts) for point in setup.hook_points
                  if point.hook.endswith("app-boot")]
    assert boot_hooks == [(hook, (play.hosts,)) for play in setup_boots
                          for hook in ("pre-app-boot", "post-app-boot")]


def test_setup_without_app_hosts_boots_no_app() -> None:
    # Only accessories: bootstrap and the accessory, no boot play, no boot hook.
    config = _config("deploy_with_only_accessories.yml")
    plan = build_setup_plan(context(config), SetupOptions(skip_push=True))
    assert not [play for play in plan.imports
                if isinstance(play, HostsPlay) and play.name.startswith("Boot the app")]
    assert not [point for point in plan.hook_points if point.hook.endswith("app-boot")]


def test_setup_imports_the_roles_without_their_per_host_validation() -> None:
    # Each skipped validation is one task (a worker process) less per host and role; the entry
    # points are each role's main.yml minus its validation, so setup boots what main boots.
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml")),
                            SetupOptions(skip_push=True))
    imports = [task for play in plan.imports if isinstance(play, HostsPlay)
               for task in play.tasks]
    entries = {(task.role, task.tasks_from) for task in imports}
    assert entries == {("bootstrap", "prepare"), ("proxy", "boot"), ("accessory", "boot"),
                       ("app", "release")}
    roles = Path(__file__).parents[2] / "roles"
    # app's and accessory's mains import the role-variable tasks; `release` and `boot` give the
    # module the same arguments from kdeploy's inventory (tests/unit/playbooks/
    # test_release_args.py, test_accessory_args.py).
    imported = {"app": "release_from_vars", "accessory": "boot_from_vars"}
    for role, entry in entries - {("proxy", "boot")}:
        main = (roles / role / "tasks" / "main.yml").read_text()
        assert "validate_argument_spec" in main
        assert f"import_tasks: {imported.get(role, entry)}.yml" in main
        assert "validate_argument_spec" not in (roles / role / "tasks" / f"{entry}.yml").read_text()


def test_role_scoped_setup_selects_the_role_and_skips_accessories() -> None:
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml"), roles="web_new"),
                            SetupOptions(skip_push=True))
    assert plan.ansible_playbook_args() == [
        "--tags", "lock,bootstrap,app_web_new", "--skip-tags", "accessory",
        "--limit", "role_web_new",
    ]
    assert plan.lock_host == "10.0.0.2"
    assert plan.extravars["kdeploy_lock_host"] == "10.0.0.2"
    assert plan.extravars["kdeploy_version"] == "v1"


def test_role_scoped_setup_names_accessories_it_left_out_on_those_hosts() -> None:
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml"), roles="web"),
                            SetupOptions(skip_push=True))
    assert plan.skip_tags == ("accessory",)
    assert len(plan.notices) == 1
    assert plan.notices[0].startswith("Accessory db lives on 10.0.0.1 and was not booted")
    assert "--with-accessories" in plan.notices[0]


def test_with_accessories_boots_only_accessories_inside_the_filter() -> None:
    config = _config("deploy_founding_case_web_new.yml")
    inside = build_setup_plan(context(config, roles="web"),
                              SetupOptions(skip_push=True, with_accessories=True))
    assert inside.tags == ("lock", "bootstrap", "app_web", "proxy", "accessory_db")
    assert inside.skip_tags == ()
    outside = build_setup_plan(context(config, roles="web_new"),
                               SetupOptions(skip_push=True, with_accessories=True))
    assert outside.tags == ("lock", "bootstrap", "app_web_new")
    assert outside.skip_tags == ("accessory_db",)


def test_host_filter_limits_to_exact_hosts() -> None:
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml"), hosts="10.0.0.2"),
                            SetupOptions(skip_push=True))
    assert plan.limit == "10.0.0.2"
    assert plan.lock_host == "10.0.0.2"


def test_unknown_role_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_setup_plan(context(_config("deploy_founding_case_web_new.yml"), roles="nope"),
                         SetupOptions(skip_push=True))


@pytest.mark.parametrize("skip_push", [True, False])
def test_setup_plans_the_same_run_with_or_without_skip_push(skip_push: bool) -> None:
    # The CLI builds and pushes first without -P; the hosts pull the version either way.
    config = _config("deploy_founding_case_web_new.yml")
    plan = build_setup_plan(context(config, roles="web_new"), SetupOptions(skip_push=skip_push))
    assert plan.extravars["kdeploy_pull"] is True
    assert plan == build_setup_plan(context(config, roles="web_new"), SetupOptions(skip_push=True))


def test_setup_without_a_version_says_where_one_comes_from(tmp_path: Path) -> None:
    # Outside a git checkout, with no --version and no VERSION, there is nothing to deploy.
    (tmp_path / "config").mkdir()
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.write_text((FIXTURES / "deploy_founding_case_web_new.yml").read_text())
    config = load_config(config_file, environ={})
    with pytest.raises(UsageError, match="pass --version"):
        build_setup_plan(context(config), SetupOptions(skip_push=True))


def test_hosts_play_yaml_runs_hosts_independently_and_guards_roles_by_group() -> None:
    play = HostsPlay("Set up the hosts", (
        RoleImport("bootstrap", "Bootstrap.", ("bootstrap",)),
        RoleImport("app", "Boot web.", ("app", "app_web"), {"app_role": "web"},
                   "role_web"),
    ))
    assert play.as_yaml_data() == {
        "name": "Set up the hosts",
        "hosts": "all",
        "gather_facts": False,
        "strategy": "free",
        "module_defaults": {"group/community.docker.docker": {
            "docker_host": "{{ kdeploy_docker_host | default('unix:///var/run/docker.sock') }}"}},
        "tasks": [
            {"name": "Bootstrap.",
             "ansible.builtin.import_role": {"name": "kdeploy.deploy.bootstrap",
                                             "rolespec_validate": False},
             "tags": ["bootstrap"]},
            {"name": "Boot web.",
             "ansible.builtin.import_role": {"name": "kdeploy.deploy.app",
                                             "rolespec_validate": False},
             "vars": {"app_role": "web"},
             "when": "inventory_hostname in groups['role_web']",
             "tags": ["app", "app_web"]},
        ],
    }
