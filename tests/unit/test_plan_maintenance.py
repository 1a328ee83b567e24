"""Plans of `kdeploy prune`, `registry login|logout` and `server bootstrap|exec`: whole selections.

Plus the generated entry playbooks, listed offline with `ansible-playbook --list-hosts
--list-tasks`: every part they import exists and reaches exactly the filtered hosts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from context_helpers import context

from kdeploy.config import Config, load_config
from kdeploy.errors import UsageError
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.plan.maintenance import (
    EXEC_REPORT_TASK,
    build_bootstrap_plan,
    build_exec_plan,
    build_prune_plan,
    build_registry_plan,
    join_command,
)
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.run.ssh_command import ssh_argv
from kdeploy.selection import CommandContext, Filters

WEB1, WEB2, JOB, DB = "10.0.40.1", "10.0.40.2", "10.0.40.3", "10.0.40.9"
CONFIG: dict[str, Any] = {
    "service": "app",
    "image": "app",
    "servers": {"web": [WEB1, WEB2], "job": {"hosts": [JOB], "cmd": "bin/job"}},
    "registry": {"server": "registry.example.com:5000", "username": "deploy",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "accessories": {"db": {"image": "postgres:16", "host": DB}},
}
LOCK = PlaybookImport("lock_acquire.yml", ("lock",))
UNLOCK = PlaybookImport("lock_release.yml", ("lock",))
def ops(config: Config) -> CommandContext:
    """The context of a command that ops@example.com runs, without filters."""
    return context(config, performer="ops@example.com")


def make_config(tmp_path: Path, version: str | None = "v1", destination: str | None = None,
                **changes: Any) -> Config:
    """The config above (with `changes` merged over it) written and loaded."""
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump({**CONFIG, **changes}))
    if destination:
        (tmp_path / "config" / f"deploy.{destination}.yml").write_text("{}\n")
    return load_config(config_file, destination, version=version, environ={})


# --- prune -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("what", "parts"), [
    ("all", ("prune_containers.yml", "prune_images.yml")),
    ("containers", ("prune_containers.yml",)),
    ("images", ("prune_images.yml",)),
])
def test_prune_runs_kamals_parts_on_every_host_under_the_lock(tmp_path: Path, what: str,
                                                              parts: tuple[str, ...]) -> None:
    plan = build_prune_plan(ops(make_config(tmp_path)), what)
    assert plan.command == f"prune {what}"
    assert plan.playbook == f"kdeploy_prune_{what}.yml"
    assert plan.imports == (LOCK, *(PlaybookImport(part, ("prune",)) for part in parts), UNLOCK)
    assert (plan.tags, plan.skip_tags, plan.limit) == ((), (), None)
    assert plan.lock_host == WEB1
    retain = {} if what == "images" else {"prune_retain": 5}
    assert plan.extravars == {
        "kdeploy_version": "v1", "kdeploy_lock_host": WEB1,
        "lock_message": "Automatic deploy lock", "kdeploy_performer": "ops@example.com",
        **retain,
    }
    assert plan.secret_names == ()
    assert plan.report_task is None


def test_prune_containers_retains_the_configured_count_or_the_option(tmp_path: Path) -> None:
    config = make_config(tmp_path, retain_containers=3)
    assert build_prune_plan(ops(config), "containers").extravars["prune_retain"] == 3
    assert build_prune_plan(ops(config), "all").extravars["prune_retain"] == 3
    plan = build_prune_plan(ops(config), "containers", retain=1)
    assert plan.extravars["prune_retain"] == 1


@pytest.mark.parametrize("retain", [0, -2])
def test_prune_containers_refuses_to_retain_nothing_like_kamal(tmp_path: Path,
                                                               retain: int) -> None:
    with pytest.raises(UsageError, match=r"^retain must be at least 1$"):
        build_prune_plan(ops(make_config(tmp_path)), "containers", retain=retain)


def test_prune_needs_a_version_for_the_lock_details(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No version for the lock details"):
        build_prune_plan(ops(make_config(tmp_path, version=None)), "all")


def test_prune_with_an_unknown_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Unknown prune command volumes"):
        build_prune_plan(ops(make_config(tmp_path)), "volumes")


@pytest.mark.parametrize(("options", "limit", "lock_host"), [
    (Filters(roles="job"), JOB, JOB),
    (Filters(roles="web"), f"{WEB1},{WEB2}", WEB1),
    (Filters(hosts=DB), DB, DB),
    (Filters(hosts=f"{WEB2},{JOB}"), f"{WEB2},{JOB}", WEB2),
    (Filters(primary=True), WEB1, WEB1),
])
def test_filters_limit_the_hosts_and_move_the_lock(tmp_path: Path, options: Filters,
                                                   limit: str, lock_host: str) -> None:
    # Kamal's filtered `hosts` (accessory-only hosts reachable with -h) and its primary host.
    filtered = CommandContext(make_config(tmp_path), options, performer="kdeploy")
    for plan in (build_prune_plan(filtered, "all"), build_bootstrap_plan(filtered)):
        assert plan.limit == limit
        assert plan.lock_host == lock_host == plan.extravars["kdeploy_lock_host"]
    for plan in (build_registry_plan(filtered, "login"),
                 build_exec_plan(filtered, "uptime")):
        assert plan.limit == limit


def test_an_unknown_role_is_kamals_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_prune_plan(context(make_config(tmp_path), roles="nope"), "all")


# --- server bootstrap ------------------------------------------------------------------------

def test_bootstrap_runs_setups_bootstrap_part_under_the_lock(tmp_path: Path) -> None:
    plan = build_bootstrap_plan(ops(make_config(tmp_path)))
    assert plan.command == "server bootstrap"
    assert plan.playbook == "kdeploy_server_bootstrap.yml"
    assert plan.imports == (LOCK, PlaybookImport("bootstrap.yml", ("bootstrap",)), UNLOCK)
    assert plan.lock_host == WEB1
    assert plan.extravars["lock_message"] == "Automatic deploy lock"
    assert plan.limit is None


def test_bootstrap_needs_a_version_for_the_lock(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No version for the lock details"):
        build_bootstrap_plan(ops(make_config(tmp_path, version=None)))


# --- registry --------------------------------------------------------------------------------

def test_registry_login_passes_only_the_registry_secrets(tmp_path: Path) -> None:
    plan = build_registry_plan(ops(make_config(tmp_path)), "login")
    assert plan.command == "registry login"
    assert plan.playbook == "kdeploy_registry_login.yml"
    assert plan.imports == (PlaybookImport("registry_login.yml", ("registry",)),)
    assert plan.secret_names == ("KAMAL_REGISTRY_PASSWORD",)
    assert (plan.lock_host, plan.limit, plan.extravars) == (None, None, {})


def test_registry_login_with_a_secret_username_passes_both(tmp_path: Path) -> None:
    registry = {**CONFIG["registry"], "username": ["REGISTRY_USER"]}
    plan = build_registry_plan(ops(make_config(tmp_path, registry=registry)), "login")
    assert plan.secret_names == ("REGISTRY_USER", "KAMAL_REGISTRY_PASSWORD")


def test_registry_logout_needs_no_secret_and_no_lock(tmp_path: Path) -> None:
    plan = build_registry_plan(ops(make_config(tmp_path)), "logout")
    assert plan.imports == (PlaybookImport("registry_logout.yml", ("registry",)),)
    assert plan.playbook == "kdeploy_registry_logout.yml"
    assert (plan.secret_names, plan.lock_host) == ((), None)


@pytest.mark.parametrize("action", ["login", "logout"])
def test_registry_commands_refuse_a_local_registry_like_kamal(tmp_path: Path,
                                                              action: str) -> None:
    config = make_config(tmp_path, registry={"server": "localhost:5555"})
    with pytest.raises(UsageError, match=rf"^Cannot use {action} command with a local registry"):
        build_registry_plan(ops(config), action)


def test_remote_login_refuses_a_password_written_in_the_config(tmp_path: Path) -> None:
    registry = {"server": "registry.example.com", "username": "u", "password": "in-clear"}
    config = make_config(tmp_path, registry=registry)
    with pytest.raises(UsageError, match="registry/password: the hosts log in only with"):
        build_registry_plan(ops(config), "login")
    # Logging out needs no password.
    assert build_registry_plan(ops(config), "logout").secret_names == ()


# --- server exec -----------------------------------------------------------------------------

def test_exec_sends_the_command_as_typed_and_reports_its_task(tmp_path: Path) -> None:
    command = "docker ps --format '{{.Names}}' | grep -c app"
    plan = build_exec_plan(ops(make_config(tmp_path)), command)
    assert plan.command == "server exec"
    assert plan.playbook == "kdeploy_server_exec.yml"
    assert plan.imports == (PlaybookImport("server_exec.yml", ("exec",)),)
    assert plan.report_task == EXEC_REPORT_TASK == "Run the command."
    # Braces and all: extra vars are written !unsafe
    # (tests/unit/playbooks/test_user_strings_in_plays.py).
    assert plan.extravars["kdeploy_server_exec_command"] == command
    assert plan.extravars["kdeploy_performer"] == "ops@example.com"
    assert (plan.lock_host, plan.limit, plan.secret_names) == (None, None, ())


@pytest.mark.parametrize("command", ["", "   "])
def test_exec_without_a_command_is_a_usage_error(tmp_path: Path, command: str) -> None:
    with pytest.raises(UsageError, match="No command to run"):
        build_exec_plan(ops(make_config(tmp_path)), command)


def test_join_command_is_kamals_join_commands() -> None:
    assert join_command(["ls ", " -la", "/tmp"]) == "ls -la /tmp"
    assert join_command(["echo 'a  b'"]) == "echo 'a  b'"


def test_ssh_argv_is_kamals_run_over_ssh(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert ssh_argv(config, WEB1, "bash") == ["ssh", "-t", f"root@{WEB1}", "-p", "22", "bash"]


def test_ssh_argv_carries_config_proxy_keys_and_port(tmp_path: Path) -> None:
    ssh = {"user": "app", "port": 2222, "proxy": "bastion.example.com", "keys_only": True,
           "keys": ["~/.ssh/id_ed25519", "/keys/other"], "config": False}
    argv = ssh_argv(make_config(tmp_path, ssh=ssh), JOB, "bin/rails c")
    home = str(Path("~").expanduser())
    assert argv == ["ssh", "-F", "/dev/null", "-J", "root@bastion.example.com",
                    "-i", f"{home}/.ssh/id_ed25519", "-i", "/keys/other",
                    "-o", "IdentitiesOnly=yes", "-t", f"app@{JOB}", "-p", "2222", "bin/rails c"]


def test_ssh_argv_with_config_files_and_a_proxy_command(tmp_path: Path) -> None:
    ssh = {"proxy_command": "ssh -W %h:%p user@proxy", "config": ["/etc/a", "/etc/b"]}
    argv = ssh_argv(make_config(tmp_path, ssh=ssh), WEB2, "top")
    assert argv == ["ssh", "-F", "/etc/a", "-F", "/etc/b",
                    "-o", "ProxyCommand=ssh -W %h:%p user@proxy",
                    "-t", f"root@{WEB2}", "-p", "22", "top"]
    single = ssh_argv(make_config(tmp_path, ssh={"config": "/etc/ssh_config"}), WEB2, "top")
    assert single[:3] == ["ssh", "-F", "/etc/ssh_config"]


# --- the generated entry playbooks, listed offline -------------------------------------------

PLAY = re.compile(r"^  play #\d+ \((?P<pattern>.*)\): (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")
TASK = re.compile(r"^      (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")


def listing(tmp_path: Path, config: Config, plan: Plan) -> list[tuple[str, list[str], list[str]]]:
    """(play, hosts, tasks) for every play the plan's entry playbook runs with its selection."""
    tool = Path(sys.executable).parent / "ansible-playbook"
    if not tool.exists():
        pytest.skip("ansible-playbook is not installed")
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    result = subprocess.run(
        [str(tool), "-i", "../inventory/hosts.yml", "-e", "@../env/extravars", plan.playbook,
         "--list-hosts", "--list-tasks", *plan.ansible_playbook_args()],
        cwd=root / "project", capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "project" / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    plays: list[tuple[str, list[str], list[str]]] = []
    section = ""
    for line in result.stdout.splitlines():
        if match := PLAY.match(line):
            plays.append((match["name"], [], []))
        elif line.strip().startswith(("pattern:", "hosts (")):
            section = "hosts" if line.strip().startswith("hosts") else ""
        elif line.strip() == "tasks:":
            section = "tasks"
        elif plays and (match := TASK.match(line)) and section == "tasks":
            plays[-1][2].append(match["name"])
        elif plays and section == "hosts" and line.startswith("      ") and line.strip():
            plays[-1][1].append(line.strip())
    return plays


def test_prune_all_lists_lock_containers_images_unlock(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    plays = listing(tmp_path, config, build_prune_plan(context(config, roles="web"),
                                                       "all"))
    assert [(name, sorted(hosts)) for name, hosts, _ in plays] == [
        ("Acquire the deploy lock", [WEB1]),
        ("Prune stopped containers", [WEB1, WEB2]),
        ("Prune unused images", [WEB1, WEB2]),
        ("Release the deploy lock", [WEB1]),
    ]
    prune = "kdeploy.deploy.prune"
    assert f"{prune} : Remove the stopped containers beyond the retained ones." in plays[1][2]
    assert f"{prune} : Remove the service's images no container uses." in plays[2][2]


def test_bootstrap_registry_and_exec_entry_playbooks_list_their_parts(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    cases = {
        "bootstrap": (build_bootstrap_plan(ops(config)),
                      ["Acquire the deploy lock", "Bootstrap Docker and the kamal network",
                       "Release the deploy lock"]),
        "login": (build_registry_plan(ops(config), "login"), ["Log in to the registry"]),
        "logout": (build_registry_plan(ops(config), "logout"), ["Log out of the registry"]),
        "exec": (build_exec_plan(ops(config), "uptime"), ["Run a command on the servers"]),
    }
    for name, (plan, plays) in cases.items():
        listed = listing(tmp_path / name, config, plan)
        assert [play for play, _, _ in listed] == plays, name
        # No filter: the parts reach every host of the config, accessory-only hosts included.
        assert sorted(listed[-1 if name != "bootstrap" else 1][1]) == sorted(
            [WEB1, WEB2, JOB, DB]), name
