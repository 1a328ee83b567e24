"""The tag/limit selections of docs/ansible-interface.md, checked with --list-tasks --list-hosts."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from playbook_support import Play, collections_dir, parse_listing, require_tool

from kdeploy import ansible_yaml

# An action plugin that says which barrier the release's plugin would keep on this host.
BARRIER_PROBE = """
from ansible.plugins.action import ActionBase
from ansible_collections.kdeploy.deploy.plugins.action.release import play_barrier


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        host = task_vars["inventory_hostname"]
        barrier = play_barrier(task_vars, task_vars["kdeploy_slot_roles"][host])
        said = (barrier["primary"] + (" watched" if barrier["watch"] == host else "")
                if barrier else "no barrier")
        return {"msg": host + ": " + said}
"""


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
        # Each accessory on exactly its hosts, the app on exactly the app hosts.
        "Boot the accessory db": ["db1", "webnew1"],
        "Boot the accessory cache": ["web1"],
        "Boot the app": ["web1", "web2", "webnew1"],
        "Release the deploy lock": ["web1"],
    }
    assert all(play.tasks for play in plays)
    # In config order: Docker, the accessories one after another, then the app.
    assert [play.name for play in plays][2:6] == [
        "Set up the hosts", "Boot the accessory db", "Boot the accessory cache", "Boot the app"]
    # `always` only on the destination check (it checks the accessories the tags select); role
    # argument validation is an ordinary task of each role.
    assert {play for play, _, tags in tasks_run(plays) if "always" in tags} == {
        "Check the accessory names on their hosts"}
    # Every task of the hosts plays belongs to exactly one part, tagged as the docs show; the
    # app's boot task boots each host's role, so it carries every role's tag.
    parts = {play: {frozenset(tags - {"app", "accessory"}) for p, _, tags in tasks_run(plays)
                    if p == play}
             for play in hosts if play.startswith(("Set up", "Boot"))}
    assert parts == {
        "Set up the hosts": {frozenset({"bootstrap"})},
        "Boot the accessory db": {frozenset({"accessory_db"})},
        "Boot the accessory cache": {frozenset({"accessory_cache"})},
        "Boot the app": {frozenset({"app_web", "app_web_new"})},
    }


def test_no_task_is_guarded_a_host_gets_only_tasks_it_runs(project_dir: Path) -> None:
    # --list-tasks does not show `when`: read the generated play. A skipped task still costs the
    # controller a worker per host, so each play names its hosts instead of guarding its tasks.
    setup = ansible_yaml.load((project_dir / "project" / "setup.yml").read_text())
    hosts_plays = [play for play in setup if "hosts" in play]
    assert [(play["name"], play["hosts"], play["strategy"]) for play in hosts_plays] == [
        ("Set up the hosts", "all", "free"),
        ("Boot the accessory db", "accessory_db", "free"),
        ("Boot the accessory cache", "accessory_cache", "free"),
        ("Boot the app", "web1,web2,webnew1", "linear"),
    ]
    assert not [task for play in hosts_plays for task in play["tasks"] if "when" in task]
    # The app boots as deploy boots it: a failure stops the run, web_new waits for web's
    # first container (the role barrier), each host's role comes from kdeploy_slot_roles.
    boot = hosts_plays[-1]
    assert (boot["any_errors_fatal"], boot["max_fail_percentage"]) == (True, 0)
    (task,) = boot["tasks"]
    assert "app_role" not in task["vars"]
    assert task["vars"]["kdeploy_slot_roles"] == {"web1": "web", "web2": "web",
                                                  "webnew1": "web_new"}
    assert task["vars"]["kdeploy_barrier_role"] == "web"


@pytest.mark.parametrize(("limit", "barrier"), [
    (None, {"web1": "web watched", "web2": "web", "webnew1": "web"}),
    # No web host left in the play: no release would ever open the barrier, so there is none.
    ("role_web_new", {"webnew1": None}),
    ("web2,webnew1", {"web2": "web watched", "webnew1": "web"}),
])
def test_the_role_barrier_holds_only_while_a_primary_role_host_boots(
        project_dir: Path, tmp_path: Path, limit: str | None,
        barrier: dict[str, str | None]) -> None:
    # The boot task's vars as setup writes them, read in the same play by an action plugin that
    # asks the release plugin's play_barrier, as the release does, under ansible-playbook's own
    # --limit and ansible_play_batch.
    setup = ansible_yaml.load((project_dir / "project" / "setup.yml").read_text())
    boot = next(play for play in setup if play.get("name") == "Boot the app")
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "barrier_probe.py").write_text(BARRIER_PROBE)
    probe = {"name": boot["name"], "hosts": boot["hosts"], "gather_facts": False,
             "tasks": [{"barrier_probe": {}, "vars": boot["tasks"][0]["vars"]}]}
    playbook = tmp_path / "probe.yml"
    playbook.write_text(ansible_yaml.dump([probe]))
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", str(project_dir / "inventory" / "hosts.yml"),
         "-e", f"@{project_dir / 'env' / 'extravars'}", "-c", "local", "-v",
         str(playbook), *(["--limit", limit] if limit else [])],
        capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "c"))},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    said = dict(re.findall(r'"msg": "(\w+): ([\w ]+)"', result.stdout))
    assert said == {host: role or "no barrier" for host, role in barrier.items()}


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
        assert not tags & {"accessory", "accessory_db"}, (play, task, tags)
    plays_with_tasks = {play for play, _, _ in selected}
    assert plays_with_tasks == {
        "Acquire the deploy lock", "Set up the hosts", "Boot the app", "Release the deploy lock",
    }


@pytest.mark.parametrize("accessory", ["db", "cache"])
def test_accessory_tag_selects_only_that_accessory(project_dir: Path, accessory: str) -> None:
    selected = tasks_run(list_selection(project_dir, "--tags", f"accessory_{accessory}"))
    assert selected
    # The destination check is `always` (its tasks check only the accessory the tags select).
    assert {play for play, _, _ in selected} == {
        "Check the accessory names on their hosts", f"Boot the accessory {accessory}"}
    assert all(f"accessory_{accessory}" in tags for play, _, tags in selected
               if play != "Check the accessory names on their hosts")
