from __future__ import annotations

from pathlib import Path

import pytest
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan import HostsPlay, PlaybookImport, RoleImport, SetupOptions, build_setup_plan

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _config(name: str):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version="v1", environ={})


def test_full_setup_runs_every_play_without_a_selection() -> None:
    plan = build_setup_plan(context(_config("deploy_founding_case_web_new.yml")),
                            SetupOptions(skip_push=True))
    # Accessories have a play of their own before the apps': the play boundary makes every
    # accessory (healthy, when it has a health check) come up before any app role boots.
    check, proxy_check, lock, hosts, apps, release = plan.imports
    # A running proxy must run the pinned image: checked before the lock too.
    assert proxy_check == PlaybookImport("proxy_check.yml", ("proxy",))
    # The destination check runs first, before the lock (always, on the accessory hosts).
    assert check == PlaybookImport("accessory_destination_check.yml", ("always", "accessory"),
                                   {"accessory_check_action": "boot"})
    assert isinstance(lock, PlaybookImport) and isinstance(release, PlaybookImport)
    assert (lock.playbook, lock.tags, release.playbook, release.tags) == (
        "lock_acquire.yml", ("lock",), "lock_release.yml", ("lock",))
    assert isinstance(hosts, HostsPlay) and isinstance(apps, HostsPlay)
    assert (hosts.strategy, apps.strategy) == ("free", "free")
    assert [(task.role, task.tags, task.vars, task.group) for task in hosts.tasks] == [
        ("bootstrap", ("bootstrap",), {}, None),
        ("proxy", ("proxy",), {}, "kdeploy_proxy"),
        ("accessory", ("accessory", "accessory_db"), {"accessory_name": "db"},
         "accessory_db"),
    ]
    assert [(task.role, task.tags, task.vars, task.group) for task in apps.tasks] == [
        ("app", ("app", "app_web"), {"app_role": "web"}, "role_web"),
        ("app", ("app", "app_web_new"), {"app_role": "web_new"},
         "role_web_new"),
    ]
    assert (plan.tags, plan.skip_tags, plan.limit) == ((), (), None)
    assert plan.lock_host == "10.0.0.1"
    assert plan.notices == ()


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
    # app's main imports the role-variable release; `release` gives the module the same
    # arguments from kdeploy's inventory (tests/unit/playbooks/test_release_args.py).
    imported = {"app": "release_from_vars"}
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
