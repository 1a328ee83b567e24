"""The tag/limit selections of docs/ansible-interface.md, checked with --list-tasks --list-hosts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playbook_support import Play, parse_listing, require_tool

from kdeploy import ansible_yaml


def list_selection(root: Path, *args: str) -> list[Play]:
    """Run ansible-playbook --list-hosts --list-tasks on the sample setup.yml and parse it."""
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", str(root / "inventory" / "hosts.yml"),
         "-e", f"@{root / 'env' / 'extravars'}", "setup.yml", "--list-hosts", "--list-tasks",
         *args],
        cwd=root / "project", capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return parse_listing(result.stdout)


def tasks_run(plays: list[Play]) -> list[tuple[str, str, set[str]]]:
    """(play, task, tags) for every task that runs on at least one host."""
    return [(play.name, name, tags) for play in plays if play.hosts for name, tags in play.tasks]


def test_syntax_check_passes(project_dir: Path) -> None:
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", str(project_dir / "inventory" / "hosts.yml"),
         "-e", f"@{project_dir / 'env' / 'extravars'}", "setup.yml", "--syntax-check"],
        cwd=project_dir / "project", capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_setup_selects_every_play_on_its_hosts(project_dir: Path) -> None:
    plays = list_selection(project_dir)
    hosts = {play.name: sorted(play.hosts) for play in plays}
    assert hosts == {
        # Every accessory host, before the lock (read-only: one docker inspect per host).
        "Check the accessory names on their hosts": ["db1", "web1", "webnew1"],
        "Acquire the deploy lock": ["web1"],
        "Set up the hosts": ["db1", "web1", "web2", "webnew1"],
        "Boot the app roles": ["db1", "web1", "web2", "webnew1"],
        "Release the deploy lock": ["web1"],
    }
    assert all(play.tasks for play in plays)
    # `always` only on the destination check (it checks the accessories the tags select); role
    # argument validation is an ordinary task of each role.
    assert {play for play, _, tags in tasks_run(plays) if "always" in tags} == {
        "Check the accessory names on their hosts"}
    # Every task of the hosts play belongs to exactly one part, tagged as the docs show.
    parts = [tags - {"app", "accessory"} for play, _, tags in tasks_run(plays)
             if play in ("Set up the hosts", "Boot the app roles")]
    assert {frozenset(part) for part in parts} == {
        frozenset({"bootstrap"}), frozenset({"accessory_db"}), frozenset({"accessory_cache"}),
        frozenset({"app_web"}), frozenset({"app_web_new"}),
    }


def test_hosts_play_guards_each_role_by_its_group(project_dir: Path) -> None:
    # --list-tasks does not show `when`: read the generated play. A host only runs the roles and
    # accessories of its own groups (a host in two roles runs both, each with its own vars).
    setup = ansible_yaml.load((project_dir / "project" / "setup.yml").read_text())
    hosts_play, apps_play = setup[2:4]
    assert hosts_play["strategy"] == apps_play["strategy"] == "free"
    tasks = hosts_play["tasks"] + apps_play["tasks"]
    guards = {tuple(task["tags"]): task.get("when") for task in tasks}
    assert guards == {
        ("bootstrap",): None,
        ("accessory", "accessory_db"): "inventory_hostname in groups['accessory_db']",
        ("accessory", "accessory_cache"): "inventory_hostname in groups['accessory_cache']",
        ("app", "app_web"): "inventory_hostname in groups['role_web']",
        ("app", "app_web_new"): "inventory_hostname in groups['role_web_new']",
    }
    # Accessories boot before the apps: in the first play, whose end every host waits for.
    assert [task["tags"][0] for task in hosts_play["tasks"]] == [
        "bootstrap", "accessory", "accessory"]
    assert [task["tags"][0] for task in apps_play["tasks"]] == ["app", "app"]


def test_setup_of_one_role_skips_accessories_on_its_hosts(project_dir: Path) -> None:
    # webnew1 is both web_new's host and an accessory_db host.
    plays = list_selection(
        project_dir, "--tags", "lock,bootstrap,app_web_new", "--skip-tags", "accessory",
        "--limit", "role_web_new", "-e", "kdeploy_lock_host=webnew1")
    selected = tasks_run(plays)
    assert {host for play in plays for host in play.hosts} == {"webnew1"}
    assert selected
    for play, task, tags in selected:
        assert tags & {"lock", "bootstrap", "app_web_new"}, (play, task, tags)
        assert not tags & {"accessory", "accessory_db", "app_web"}, (play, task, tags)
    plays_with_tasks = {play for play, _, _ in selected}
    assert plays_with_tasks == {
        "Acquire the deploy lock", "Set up the hosts", "Boot the app roles",
        "Release the deploy lock",
    }
    assert {tag for _, _, tags in selected for tag in tags} == {
        "lock", "bootstrap", "app", "app_web_new",
    }


@pytest.mark.parametrize("accessory", ["db", "cache"])
def test_accessory_tag_selects_only_that_accessory(project_dir: Path, accessory: str) -> None:
    selected = tasks_run(list_selection(project_dir, "--tags", f"accessory_{accessory}"))
    assert selected
    # The destination check is `always` (its tasks check only the accessory the tags select).
    assert {play for play, _, _ in selected} == {
        "Check the accessory names on their hosts", "Set up the hosts"}
    assert all(f"accessory_{accessory}" in tags for play, _, tags in selected
               if play == "Set up the hosts")
