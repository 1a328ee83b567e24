"""Names that become container names, paths and groups: rejected while loading, key named."""

from __future__ import annotations

import pytest
from config_helpers import BASE, variant

from kdeploy.config.names import group_key, name_problem, shared_group
from kdeploy.errors import ConfigError
from kdeploy.host_contract.names import accessory_group, role_group

RULE = ("Must only contain letters, digits, hyphens, underscores and dots, not start with a "
        "hyphen or a dot, and not contain '..'.")
BAD_NAMES = ["../x", "../../../../tmp/x", "a/b", "/abs", "..", "a..b", "-x", ".hidden", "",
             "two words", "semi;colon", "new\nline", "tab\t", "dollar$x", "ünï"]
GOOD_NAMES = ["web", "web-api", "web_api", "web.api", "Web2", "_internal", "1", "a.b-c_d"]
DB = {"image": "mysql", "host": "10.0.0.1"}


def rejected(load, config, destination=None) -> str:
    with pytest.raises(ConfigError) as error:
        load(config, destination)
    return error.value.message


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_role_name_is_refused_naming_its_key(load, name):
    message = rejected(load, variant(servers={"web": ["10.0.0.1"], name: ["10.0.0.2"]}))
    assert message.endswith(f"config/deploy.yml: servers/{name}: Invalid role name: "
                            f"'{name}'. {RULE}")
    assert "\n" not in message.replace(name, "")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_accessory_name_is_refused_naming_its_key(load, name):
    message = rejected(load, variant(accessories={name: DB}))
    assert message.endswith(f"config/deploy.yml: accessories/{name}: Invalid accessory name: "
                            f"'{name}'. {RULE}")


@pytest.mark.parametrize("name", ["../../etc", "-x", "a/b", ".."])
def test_a_bad_accessory_service_name_is_refused(load, name):
    message = rejected(load, variant(accessories={"db": {**DB, "service": name}}))
    assert message.endswith(f"accessories/db/service: Invalid accessory service name: "
                            f"'{name}'. {RULE}")


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n])
def test_a_bad_destination_is_refused_before_any_file_is_read(load, name):
    # No deploy.<destination>.yml exists: the name is refused first, not "file not found".
    message = rejected(load, BASE, name)
    assert message == f"-d/--destination: Invalid destination name: '{name}'. {RULE}"


@pytest.mark.parametrize(("name", "message"), [
    ("-x", "aliases/-x: Invalid alias name: '-x'. Must not start with a hyphen."),
    # Kamal's own rule already keeps `/` and `.` out of aliases, in its words.
    ("../x", "aliases/../x: Invalid alias name: '../x'. Must only contain lowercase letters, "
             "alphanumeric, hyphens and underscores."),
])
def test_a_bad_alias_is_refused_naming_its_key(load, name, message):
    assert rejected(load, variant(aliases={name: "app details"})).endswith(message)


def test_a_multi_line_service_name_is_refused(load):
    # Kamal's `^[a-z0-9_-]+$` matches line by line and lets this through.
    assert rejected(load, variant(service="app\n../../x")).endswith(
        "Service name can only include alphanumeric characters, hyphens, and underscores")


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_kamal_can_deploy_are_kept(load, write_config, name):
    write_config(BASE, f"deploy.{name}.yml")
    config = load(variant(servers={"web": ["10.0.0.1"], name: ["10.0.0.2"]},
                          accessories={name: DB}), name)
    assert name in [role.name for role in config.roles]
    assert config.accessory(name).service_name == f"app-{name}"
    assert config.destination == name


@pytest.mark.parametrize("name", ["c", "db-console", "my_alias", "x1"])
def test_aliases_kamal_accepts_are_kept(load, name):
    assert load(variant(aliases={name: "app details"})).aliases == {name: "app details"}


@pytest.mark.parametrize(("config", "message"), [
    (variant(servers={"web": ["h1"], "web-api": ["h2"], "web_api": ["h3"]}),
     "servers: role names 'web-api' and 'web_api' would share the inventory group role_web_api; "
     "rename one"),
    (variant(accessories={"db.1": DB, "db-1": DB}),
     "accessories: accessory names 'db-1' and 'db.1' would share the inventory group "
     "accessory_db_1; rename one"),
])
def test_names_that_would_share_an_inventory_group_are_refused(load, config, message):
    assert rejected(load, config).endswith(f"config/deploy.yml: {message}")


@pytest.mark.parametrize(("first", "second"), [
    ("web-api", "web_api"), ("web.api", "web-api"), ("a.b", "a_b"), ("web", "Web"), ("a-b", "ab"),
    ("x", "x_"),
])
def test_group_key_matches_the_inventory_groups(first, second):
    assert name_problem("role", first) is None and name_problem("role", second) is None
    same = group_key(first) == group_key(second)
    assert same == (role_group(first) == role_group(second))
    assert same == (accessory_group(first) == accessory_group(second))
    assert (shared_group([first, second]) == (first, second)) == same
