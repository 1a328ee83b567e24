"""Registry, ssh, sshkit, builder, boot, proxy and x-kdeploy: built values and defaults."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.config.boot import Boot


@pytest.mark.parametrize(("registry", "expected"), [
    ({"server": "localhost:5000"},
     {"server": "localhost:5000", "local": True, "local_port": 5000}),
    ({"username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
     {"server": None, "username": "u", "password": None,
      "password_secret": "KAMAL_REGISTRY_PASSWORD", "local": False}),
    ({"server": "ghcr.io", "username": ["GH_USER"], "password": "clear"},
     {"username": None, "username_secret": "GH_USER", "password": "clear"}),
    ({"server": "localhost", "username": "u", "password": "p"}, {"local": False}),
])
def test_registry(load, registry, expected):
    built = load(variant(registry=registry, image="dhh/app")).registry
    assert {key: getattr(built, key) for key in expected} == expected


def test_ssh(load):
    ssh = load(variant(ssh={"user": "app", "port": "2222", "proxy": "bastion", "keys": ["k1"],
                            "keys_only": True, "config": ["c"], "log_level": "debug",
                            "key_data": ["SSH_KEY"]})).ssh
    assert (ssh.user, ssh.port, ssh.proxy, ssh.keys, ssh.keys_only) == (
        "app", 2222, "root@bastion", ("k1",), True)
    assert (ssh.config, ssh.log_level, ssh.key_data) == (("c",), "debug", ("SSH_KEY",))


def test_ssh_proxy_with_user_and_command(load):
    assert load(variant(ssh={"proxy": "me@bastion"})).ssh.proxy == "me@bastion"
    assert load(variant(ssh={"proxy_command": "nc %h"})).ssh.proxy_command == "nc %h"


def test_sshkit(load):
    sshkit = load(variant(sshkit={"max_concurrent_starts": 10})).sshkit
    assert (sshkit.max_concurrent_starts, sshkit.pool_idle_timeout, sshkit.dns_retries) == (
        10, 900, 3)


def test_builder(load):
    builder = load(variant(image="dhh/app", registry={"username": "u", "password": "p"}, builder={
        "arch": ["amd64", "arm64"], "remote": "ssh://b", "cache": {"type": "gha"},
        "context": ".", "dockerfile": "D", "target": "t", "args": {"A": 1},
        "secrets": ["S"], "ssh": "default", "driver": "docker", "provenance": "mode=max",
        "sbom": True,
    })).builder
    assert builder.arch == ("amd64", "arm64")
    assert (builder.remote, builder.cache_type, builder.context, builder.dockerfile) == (
        "ssh://b", "gha", ".", "D")
    assert (dict(builder.args), builder.secrets, builder.driver, builder.sbom) == (
        {"A": "1"}, ("S",), "docker", True)
    assert not builder.git_clone


def test_buildpacks(load):
    builder = load(variant(builder={"arch": "amd64", "pack": {
        "builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]}})).builder
    assert (builder.arch, builder.pack_builder, builder.pack_buildpacks) == (
        ("amd64",), "heroku/builder:24", ("heroku/ruby",))


@pytest.mark.parametrize(("limit", "hosts", "size"), [
    (None, 10, None), (3, 10, 3), ("25%", 10, 2), ("25%", 3, 1), ("100%", 7, 7), ("5", 9, 5),
])
def test_boot_group_size(limit, hosts, size):
    assert Boot(limit=limit).group_size(hosts) == size


def test_boot(load):
    boot = load(variant(boot={"limit": "25%", "wait": 2, "parallel_roles": True})).boot
    assert (boot.limit, boot.wait, boot.parallel_roles) == ("25%", 2, True)


def test_proxy(load):
    proxy = load(variant(proxy={"host": "a.com,b.com", "app_port": 3000, "ssl": True,
                                "run": {"http_port": 8080}})).proxy
    assert (proxy.hosts, proxy.app_port, proxy.ssl, dict(proxy.run)) == (
        ("a.com", "b.com"), 3000, True, {"http_port": 8080})


def test_custom_certificate_allows_several_hosts(load):
    config = load(variant(servers={"web": ["10.0.0.1", "10.0.0.2"]}, proxy={
        "host": "a.com", "ssl": {"certificate_pem": "CERT", "private_key_pem": "KEY"}}))
    assert config.role("web").proxy.custom_ssl_certificate


def test_extension(load):
    config = load(variant(**{"x-kdeploy": {"python_interpreter": "/usr/bin/python3"},
                             "x-other": {"ignored": True}}))
    assert config.extension.python_interpreter == "/usr/bin/python3"
