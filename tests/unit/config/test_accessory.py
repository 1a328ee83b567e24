"""Accessory: placement rules, names, image, port, files and directories."""

from __future__ import annotations

import pytest
from config_helpers import variant

SERVERS = {
    "web": ["10.0.0.1", {"10.0.0.2": ["db", "cache"]}],
    "workers": {"hosts": [{"10.0.0.3": "db"}]},
}


@pytest.mark.parametrize(("placement", "hosts"), [
    ({"host": "10.0.0.9"}, ("10.0.0.9",)),
    ({"hosts": ["10.0.0.8", "10.0.0.9"]}, ("10.0.0.8", "10.0.0.9")),
    ({"role": "web"}, ("10.0.0.1", "10.0.0.2")),
    ({"roles": ["workers", "web"]}, ("10.0.0.3", "10.0.0.1", "10.0.0.2")),
    ({"tag": "db"}, ("10.0.0.2",)),  # the hosts-form role `workers` is not searched (Kamal)
    ({"tags": ["cache", "db"]}, ("10.0.0.2",)),
    ({"tag": "none"}, ()),
])
def test_hosts_from_placement(load, placement, hosts):
    config = load(variant(servers=SERVERS, accessories={"acc": {"image": "x", **placement}}))
    assert config.accessory("acc").hosts == hosts


def test_tag_placement_with_list_servers_finds_nothing(load):
    config = load(variant(servers=[{"10.0.0.1": "db"}],
                          accessories={"acc": {"image": "x", "tag": "db"}}))
    assert config.accessory("acc").hosts == ()


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, {"service_name": "app-db", "image": "mysql:8", "port": None, "network": "kamal"}),
    ({"service": "mysql", "port": 3306, "network": "custom"},
     {"service_name": "mysql", "port": "3306:3306", "network": "custom"}),
    ({"port": "127.0.0.1:3306:3306"}, {"port": "127.0.0.1:3306:3306"}),
    ({"registry": {"server": "ghcr.io", "username": "u", "password": ["P"]}},
     {"image": "ghcr.io/mysql:8"}),
    ({"cmd": "mysqld --x"}, {"cmd": "mysqld --x"}),
])
def test_accessory_values(load, spec, expected):
    config = load(variant(accessories={"db": {"image": "mysql:8", "host": "h", **spec}}))
    db = config.accessory("db")
    assert {key: getattr(db, key) for key in expected} == expected


def test_labels_include_service_name(load):
    config = load(variant(accessories={"db": {"image": "x", "host": "h", "service": "mysql",
                                              "labels": {"app": "myapp"}}}))
    assert dict(config.accessory("db").labels) == {"service": "mysql", "app": "myapp"}


def test_accessory_registry(load):
    config = load(variant(accessories={"db": {
        "image": "x", "host": "h",
        "registry": {"server": "ghcr.io", "username": "u", "password": ["GHCR_TOKEN"]}}}))
    registry = config.accessory("db").registry
    assert (registry.server, registry.username, registry.password_secret) == (
        "ghcr.io", "u", "GHCR_TOKEN")


def test_files_and_directories(load, tmp_path):
    config = load(variant(accessories={"db": {
        "image": "x", "host": "h",
        "files": ["config/my.cnf:/etc/mysql/my.cnf",
                  {"local": "secret.key", "remote": "/etc/secret.key", "mode": "0600",
                   "owner": "mysql:mysql", "options": "Z"}],
        "directories": ["data:/var/lib/mysql:z", "/srv/logs:/var/log/mysql",
                        {"local": "backups", "remote": "/backups", "mode": "0750"}],
    }}))
    db = config.accessory("db")
    first, second = db.files
    assert first.local == tmp_path / "config" / "my.cnf"
    assert (first.host_path, first.remote, first.mode, first.options) == (
        "app-db/etc/mysql/my.cnf", "/etc/mysql/my.cnf", "755", None)
    assert (second.mode, second.owner, second.options) == ("0600", "mysql:mysql", "Z")
    assert [(d.host_path, d.remote, d.mode, d.options) for d in db.directories] == [
        ("app-db/data", "/var/lib/mysql", None, "z"),
        ("/srv/logs", "/var/log/mysql", None, None),
        ("app-db/backups", "/backups", "0750", None),
    ]


def test_accessory_env_is_not_merged_with_root(load):
    config = load(variant(env={"A": "1"}, accessories={"db": {
        "image": "x", "host": "h", "env": {"clear": {"B": "2"}, "secret": ["P:ALIAS"]}}}))
    env = config.accessory("db").env
    assert (dict(env.clear), dict(env.secret)) == ({"B": "2"}, {"P": "ALIAS"})


def test_proxied_accessory(load):
    config = load(variant(accessories={"netdata": {
        "image": "x", "host": "h", "proxy": {"host": "n.example.com", "app_port": 19999}}}))
    assert config.accessory("netdata").running_proxy
    assert config.accessory("netdata").proxy.app_port == 19999


def test_erb_files_are_templates(load):
    config = load(variant(accessories={"db": {
        "image": "x", "host": "h", "files": ["my.cnf.erb:/etc/my.cnf", "plain:/etc/plain"]}}))
    assert [f.template for f in config.accessory("db").files] == [True, False]
