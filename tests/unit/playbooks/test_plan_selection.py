"""kdeploy's own plan and private data dir select the right plays and hosts (offline).

The founding case with an overlap: the accessory db lives on web_new's host. `setup -r web_new`
must reach only that host and run no accessory task there; the full setup runs every play.
Checked with `ansible-playbook --list-tasks --list-hosts` and the plan's own arguments.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from playbook_support import Play, parse_listing, require_tool

from kdeploy.config import load_config
from kdeploy.plan import SetupOptions, build_setup_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.selection import CommandContext, Filters

WEB, WEB_NEW = "10.0.0.1", "10.0.0.2"
CONFIG = {
    "service": "app",
    "image": "app",
    "servers": {"web": [WEB], "web_new": {"hosts": [WEB_NEW], "proxy": False}},
    "registry": {"server": "localhost:5000"},
    "builder": {"arch": "amd64"},
    "accessories": {"db": {"image": "mysql:8.0", "host": WEB_NEW, "port": 3306,
                           "directories": ["data:/var/lib/mysql"]}},
}

def list_plan(tmp_path: Path, options: SetupOptions,
              roles: str | None = None) -> tuple[list[str], list[Play]]:
    """Write kdeploy's private data dir for `setup` and list what the plan's selection runs."""
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text(yaml.safe_dump(CONFIG))
    config = load_config(config_file, version="v1", environ={})
    plan = build_setup_plan(CommandContext(config, Filters(roles=roles), performer="kdeploy"),
                            options)
    root = tmp_path / "pdd"
    write_private_data_dir(root, config, plan)
    args = plan.ansible_playbook_args()
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", "../inventory/hosts.yml",
         "-e", "@../env/extravars", plan.playbook, "--list-hosts", "--list-tasks", *args],
        cwd=root / "project", capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "project" / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return args, parse_listing(result.stdout)


def tag_hosts(plays: list[Play]) -> dict[str, set[str]]:
    """{tag: hosts} over every task that would run: which concern reaches which hosts.

    Read by tag rather than by play, so it holds however the plays are cut (a play per
    concern or one play with tagged role imports).
    """
    found: dict[str, set[str]] = {}
    for play in plays:
        for _, tags in play.tasks if play.hosts else ():
            for tag in tags:
                found.setdefault(tag, set()).update(play.hosts)
    return found


def test_setup_of_the_new_role_reaches_only_its_host_and_no_accessory(tmp_path: Path) -> None:
    args, plays = list_plan(tmp_path, SetupOptions(skip_push=True), roles="web_new")
    assert args == ["--tags", "lock,bootstrap,app_web_new", "--skip-tags", "accessory",
                    "--limit", "role_web_new"]
    # Lock, bootstrap and web_new's app tasks, all on web_new's host (which also holds db);
    # not a single accessory task, not web's.
    assert tag_hosts(plays) == {tag: {WEB_NEW} for tag in
                                ("lock", "bootstrap", "app", "app_web_new")}


def test_setup_with_accessories_boots_only_those_inside_the_filter(tmp_path: Path) -> None:
    _, plays = list_plan(tmp_path, SetupOptions(skip_push=True, with_accessories=True),
                          roles="web_new")
    assert tag_hosts(plays) == {tag: {WEB_NEW} for tag in
                                ("always", "lock", "bootstrap", "accessory", "accessory_db",
                                 "app", "app_web_new")}


def test_full_setup_runs_every_play(tmp_path: Path) -> None:
    args, plays = list_plan(tmp_path, SetupOptions(skip_push=True))
    assert args == []
    selected = tag_hosts(plays)
    assert set(selected) == {"always", "lock", "bootstrap", "proxy", "accessory", "accessory_db",
                             "app", "app_web", "app_web_new"}
    assert selected["always"] == {WEB_NEW}  # the destination check, on the accessory's host
    assert selected["lock"] == {WEB}  # the primary host
    assert WEB in selected["proxy"]  # web is Kamal's primary role, behind the proxy
    assert selected["bootstrap"] == {WEB, WEB_NEW}
    assert all(play.hosts and play.tasks for play in plays)
