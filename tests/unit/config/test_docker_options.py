"""`options:` as Kamal's `docker run` flags: one builder, run when the config loads."""

from __future__ import annotations

from typing import Any

import pytest
from config_helpers import variant

from kdeploy.config.docker_options import option_args, restart_policy
from kdeploy.errors import ConfigError
from kdeploy.host_contract.inventory import build_inventory, render_inventory

CONTEXT = "accessories/db/options"


@pytest.mark.parametrize(("options", "expected"), [
    ({}, []),
    # Any flag docker knows passes: no list of supported flags.
    ({"gpus": "all"}, ["--gpus", "all"]),
    ({"network-alias": "db"}, ["--network-alias", "db"]),
    ({"gpus": '"device=0,1"'}, ["--gpus", '"device=0,1"']),
    # A list repeats the flag, in order; an empty one passes nothing.
    ({"cap-add": ["NET_ADMIN", "SYS_TIME"], "ulimit": []},
     ["--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME"]),
    # true is a bare flag (also inside a list), numbers are written as Ruby writes them.
    ({"init": True, "privileged": [True], "cpus": 1.5, "memory-swappiness": 0},
     ["--init", "--privileged", "--cpus", "1.5", "--memory-swappiness", "0"]),
    # One argv item each, never split or re-quoted: no shell in between.
    ({"health-cmd": "pg_isready -U 'app user' && echo \"ok\"", "label": "a=b c"},
     ["--health-cmd", "pg_isready -U 'app user' && echo \"ok\"", "--label", "a=b c"]),
    # restart is the container's --restart policy, not a flag of its own.
    ({"restart": "on-failure:3", "memory": "1g"}, ["--memory", "1g"]),
])
def test_options_are_kamals_optionize(options: dict[str, Any], expected: list[str]) -> None:
    assert option_args(options, CONTEXT) == expected


@pytest.mark.parametrize(("options", "message"), [
    ({"gpus all": "x"}, r"^accessories/db/options/gpus all: not a docker run flag name"),
    ({"--gpus": "all"}, r"^accessories/db/options/--gpus: not a docker run flag name"),
    ({"Memory": "1g"}, r"^accessories/db/options/Memory: not a docker run flag name"),
    ({1: "x"}, r"^accessories/db/options/1: not a docker run flag name"),
    ({"privileged": False}, r"^accessories/db/options/privileged: false cannot be passed"),
    ({"gpus": None}, r"^accessories/db/options/gpus: should be a string, a number or true"),
    ({"ulimit": {"nofile": 1024}}, r"^accessories/db/options/ulimit: should be a string"),
    ({"cap-add": ["A", ["B"]]}, r"^accessories/db/options/cap-add: should be a string"),
])
def test_what_cannot_be_a_docker_flag_is_refused_with_its_key(
        options: dict[Any, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        option_args(options, CONTEXT)


def test_restart_policy_is_the_option_or_unless_stopped() -> None:
    assert restart_policy({"restart": "on-failure:5"}) == "on-failure:5"
    assert restart_policy({"memory": "1g"}) == "unless-stopped"


@pytest.mark.parametrize("where", ["accessories__db__options", "servers__web__options"])
def test_the_config_load_refuses_a_bad_option_naming_file_and_key(load, where: str) -> None:
    accessories = {"db": {"image": "postgres:16", "host": "10.0.0.1"}}
    config = variant(servers={"web": {"hosts": ["10.0.0.1"]}}, accessories=accessories,
                     **{where: {"shm-size": "1g", "network alias": "x"}})
    key = where.replace("__", "/")
    with pytest.raises(ConfigError, match=rf"deploy\.yml.*{key}/network alias: not a docker"):
        load(config)


def test_apps_and_accessories_get_the_same_flags(load) -> None:
    options = {"gpus": "all", "network-alias": ["a", "b"], "init": True, "restart": "always"}
    config = load(variant(servers={"web": {"hosts": ["10.0.0.1"], "options": options}},
                          accessories={"db": {"image": "postgres:16", "host": "10.0.0.1",
                                              "options": options}}))
    all_vars = build_inventory(config)["all_vars"]
    web, db = all_vars["kdeploy_app_roles"]["web"], all_vars["kdeploy_accessories"]["db"]
    # (The helper writes the YAML with sorted keys: the file's order is the flags' order.)
    expected = ["--gpus", "all", "--init", "--network-alias", "a", "--network-alias", "b"]
    assert web["docker_args"] == db["docker_args"] == expected
    assert web["restart_policy"] == db["restart_policy"] == "always"


def test_a_template_in_an_option_stays_literal(load) -> None:
    options = {"hostname": "{{ lookup('pipe','id') }}"}
    config = load(variant(servers={"web": {"hosts": ["10.0.0.1"]}},
                          accessories={"db": {"image": "postgres:16", "host": "10.0.0.1",
                                              "options": options}}))
    assert build_inventory(config)["all_vars"]["kdeploy_accessories"]["db"]["docker_args"] == [
        "--hostname", "{{ lookup('pipe','id') }}"]
    # In the inventory's vars, which are tagged !unsafe as a whole: Ansible never templates it.
    text = render_inventory(config)
    assert "  vars: !unsafe\n" in text and "'{{ lookup(''pipe'',''id'') }}'" in text
