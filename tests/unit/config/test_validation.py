"""Kamal 2.11's validation messages, pinned (Kamal's test/configuration/validation_test.rb)."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.errors import ConfigError

WEB = {"hosts": ["10.0.0.1"]}

CASES = [
    # root
    (variant(unknown="x", unknown2="y"), "unknown keys: unknown, unknown2"),
    (variant(foo="bar"), "unknown key: foo"),
    (variant(deploy_timeout="5"), "deploy_timeout: should be an integer"),
    (variant(require_destination="yes"), "require_destination: should be a boolean"),
    (variant(service=None), "Missing required configuration for service"),
    (variant(service=True),
     "Service name can only include alphanumeric characters, hyphens, and underscores"),
    (variant(service="my app"),
     "Service name can only include alphanumeric characters, hyphens, and underscores"),
    (variant(image=None, registry={"username": "u", "password": "p"}),
     "Missing required configuration for image"),
    (variant(retain_containers=0), "Must retain at least 1 container"),
    (variant(minimum_version="9.0.0"), "Current version is 2.11.0, minimum required is 9.0.0"),
    (variant(volumes="/a:/b"), "volumes: should be an array"),
    (variant(labels=["a"]), "labels: should be a hash"),
    (variant(labels={"a": ["b"]}), "labels/a: should be a string"),
    (variant(hooks_output="loud"), "Invalid hooks_output 'loud', must be one of: quiet, verbose"),
    (variant(hooks_output={"pre-deploy": "loud"}),
     "Invalid hooks_output 'loud' for hook 'pre-deploy', must be one of: quiet, verbose"),
    # servers and roles
    (variant(servers="10.0.0.1"), "servers: should be an array or a hash"),
    (variant(servers=[{"10.0.0.1": "a", "10.0.0.2": "b"}]), "servers/0: multiple hosts found"),
    (variant(servers=[{"foo": {"a": 1}}]), "servers/0/foo: should be a string or an array"),
    (variant(servers=[{"foo": ["a", ["b"]]}]), "servers/0/foo/1: should be a string"),
    (variant(servers={"web": "10.0.0.1"}), "servers/web: should be an array or a hash"),
    (variant(servers={"web": {"hosts": "10.0.0.1"}}), "servers/web/hosts: should be an array"),
    (variant(servers={"web": {**WEB, "env": "FOO"}}), "servers/web/env: should be a hash"),
    (variant(servers={"web": {**WEB, "bar": 1}}), "servers/web: unknown key: bar"),
    (variant(servers={"web": {**WEB, "cmd": ["a"]}}), "servers/web/cmd: should be a string"),
    (variant(servers={"web": {**WEB, "options": "x"}}), "servers/web/options: should be a hash"),
    (variant(servers={"web": {**WEB, "labels": {"service": "x"}}}),
     "servers/web/labels/service: invalid label. destination, role, and service are reserved "
     "labels"),
    (variant(servers={"web": {**WEB, "env": {"tags": {"a": {"B": "c"}}}}}),
     "servers/web/env: tags are only allowed in the root env"),
    # Kamal 2.12: `options/restart` is the restart policy, when docker knows it.
    (variant(servers={"web": {**WEB, "options": {"restart": False}}}),
     'servers/web/options/restart: should be a string. Use "no" to disable restarts'),
    (variant(servers={"web": {**WEB, "options": {"restart": None}}}),
     'servers/web/options/restart: should be a string. Use "no" to disable restarts'),
    (variant(servers={"web": {**WEB, "options": {"restart": "sometimes"}}}),
     "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or "
     "on-failure:N"),
    (variant(servers={"web": {**WEB, "options": {"restart": "on-failure:x"}}}),
     "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or "
     "on-failure:N"),
    (variant(servers={"web": {**WEB, "options": {"restart": "on-failure:\u0663"}}}),
     "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or "
     "on-failure:N"),
    (variant(accessories={"db": {"image": "x", "host": "h", "options": {"restart": "always\n"}}}),
     "accessories/db/options/restart: should be no, always, unless-stopped, on-failure, or "
     "on-failure:N"),
    (variant(accessories={"db": {"image": "x", "host": "h", "options": {"restart": 3}}}),
     'accessories/db/options/restart: should be a string. Use "no" to disable restarts'),
    (variant(servers={"web": {**WEB, "proxy": "yes"}}), "servers/web/proxy: should be a hash"),
    (variant(servers={"web": {**WEB, "proxy": {"x-foo": 1}}}),
     "servers/web/proxy: unknown key: x-foo"),
    (variant(servers={"web": {**WEB, "logging": {"driver": ["x"]}}}),
     "servers/web/logging/driver: should be a string"),
    (variant(servers={"web": {**WEB, "x-foo": 1}}), "servers/web: unknown key: x-foo"),
    (variant(primary_role="api"), "The primary_role api isn't defined"),
    (variant(servers={"web": []}), "No servers specified for the web primary_role"),
    (variant(servers={"web": ["10.0.0.1"], "jobs": []}),
     "No servers specified for the jobs role. You can ignore this with allow_empty_roles: true"),
    (variant(servers=None), "No servers or accessories specified"),
    # env
    (variant(env="FOO"), "env: should be a hash"),
    (variant(env={"FOO": ["a"]}), "env/FOO: should be a string"),
    (variant(env={"clear": {"A": "b"}, "other": 1}), "env: unknown key: other"),
    (variant(env={"clear": ["A"]}), "env/clear: should be a hash"),
    (variant(env={"secret": "A"}), "env/secret: should be an array"),
    (variant(env={"tags": {"tag1": {"secret": [["A"]]}}}),
     "env/tags/tag1/secret/0: should be a string"),
    (variant(env={"tags": {"tag1": "A"}}), "env/tags/tag1: should be a hash"),
    (variant(env={"tags": {"tag1": {"tags": {}}}}),
     "env/tags/tag1: tags are only allowed in the root env"),
    # registry
    (variant(registry={"username": "u", "password": 123}),
     "registry/password: should be a string or an array with one string (for secret lookup)"),
    (variant(registry={"username": "u", "password": ["A", "B"]}),
     "registry/password: should be a string or an array with one string (for secret lookup)"),
    (variant(registry={"password": "p"}), "registry/username: is required"),
    (variant(registry={"server": "localhost", "username": "u"}), "registry/password: is required"),
    (variant(registry={"server": "localhost:5000", "port": 1}), "registry: unknown key: port"),
    (variant(registry=None), "registry/username: is required"),
    # accessories
    (variant(accessories={"accessory1": {"image": "x", "host": "h", "unknown": 1}}),
     "accessories/accessory1: unknown key: unknown"),
    (variant(accessories={"db": {"image": "x"}}),
     "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`"),
    (variant(accessories={"db": {"image": "x", "host": "h", "role": "web"}}),
     "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`"),
    (variant(accessories={"db": {"image": "x", "roles": ["web", "r"]}}),
     "accessories/db: unknown roles r"),
    (variant(accessories={"db": {"image": "x", "role": "r"}}), "accessories/db: unknown role r"),
    (variant(accessories={"db": {"image": "x", "host": "h", "labels": {"role": "x"}}}),
     "accessories/db/labels/role: invalid label. destination, role, and service are reserved "
     "labels"),
    (variant(accessories={"db": {"image": "x", "host": "h", "port": [1]}}),
     "accessories/db/port: should be a string"),
    (variant(accessories={"db": {"image": "x", "host": "h", "files": "a:b"}}),
     "accessories/db/files: should be an array"),
    (variant(accessories={"db": {"image": "x", "host": "h", "files": [{"local": ["a"]}]}}),
     "accessories/db/files/0/local: should be a string"),
    (variant(accessories={"db": {"image": "x", "host": "h", "files": ["nocolon"]}}),
     "accessories/db/files/0: should be local:remote[:options]"),
    (variant(accessories={"db": {"image": "x", "host": "h", "env": {"tags": {}}}}),
     "accessories/db/env: tags are only allowed in the root env"),
    (variant(accessories={"db": {"image": "x", "host": "h", "registry": {"server": "r"}}}),
     "accessories/db/registry/username: is required"),
    (variant(accessories={"db": "mysql"}), "accessories/db: should be a hash"),
    # kdeploy's own rule, after Kamal's: Kamal would `docker run ''` when it boots it.
    (variant(accessories={"db": {"host": "h", "port": 5432}}),
     "accessories/db: Missing required configuration for image"),
    (variant(accessories={"db": {"image": "", "host": "h"}}),
     "accessories/db: Missing required configuration for image"),
    (variant(accessories={"db": {"host": "h", "labels": {"role": "x"}}}),
     "accessories/db/labels/role: invalid label. destination, role, and service are reserved "
     "labels"),
    (variant(accessories=["db"]), "accessories: should be a hash"),
    # proxy
    (variant(proxy={"ssl": True}), "proxy: Must set a host to enable automatic SSL"),
    (variant(proxy={"host": "a", "hosts": ["b"]}),
     "proxy: Specify one of 'host' or 'hosts', not both"),
    (variant(proxy={"app_port": "80"}), "proxy/app_port: should be an integer"),
    (variant(proxy={"ssl": "yes"}), "proxy/ssl: should be a boolean or a hash"),
    (variant(proxy={"healthcheck": {"path": "/", "foo": 1}}),
     "proxy/healthcheck: unknown key: foo"),
    (variant(proxy={"run": {"publish": False, "http_port": 80}}),
     "proxy: Cannot set http_port, https_port or bind_ips when publish is false"),
    (variant(proxy={"host": "a", "ssl": {"certificate_pem": "C"}}),
     "proxy: Missing private_key_pem setting (required when certificate_pem is present)"),
    (variant(servers={"web": ["10.0.0.1", "10.0.0.2"]}, proxy={"host": "a", "ssl": True}),
     "SSL is only supported on a single server unless you provide custom certificates, "
     "found 2 servers for role web"),
    # builder
    (variant(builder=None), "builder: Builder arch not set"),
    (variant(builder={"arch": {"a": 1}}), "builder/arch: should be an array or a string"),
    (variant(builder={"arch": "amd64", "cache": {"type": "s3"}}),
     "builder: Invalid cache type: s3"),
    (variant(builder={"arch": ["amd64", "arm64"], "pack": {"builder": "b"}}),
     "builder: buildpacks only support building for one arch"),
    (variant(builder={"arch": "amd64", "local": False}),
     "builder: Cannot disable local builds, no remote is set"),
    (variant(builder={"arch": "amd64", "remote": "tcp://b:1"}),
     "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)"),
    (variant(builder={"arch": "amd64", "args": ["A"]}), "builder/args: should be a hash"),
    (variant(builder={"arch": "amd64", "sbom": "yes"}), "builder/sbom: should be a boolean"),
    # ssh, sshkit, boot, logging, aliases
    (variant(ssh={"config": 1}), "ssh/config: should be a boolean or a string or an array"),
    (variant(ssh={"keys": "k"}), "ssh/keys: should be an array"),
    # Kamal 2.12's key, a boolean as in its example.
    (variant(ssh={"user": "u", "forward_agent": "no"}), "ssh/forward_agent: should be a boolean"),
    (variant(ssh={"user": "u", "forward_agent": 1}), "ssh/forward_agent: should be a boolean"),
    # Kamal 2.12 keys kdeploy does not implement stay unknown, as in Kamal 2.11.
    (variant(stop_timeout=30), "unknown key: stop_timeout"),
    (variant(output={"file": {"path": "/tmp"}}), "unknown key: output"),
    (variant(sshkit={"dns_retries": "3"}), "sshkit/dns_retries: should be an integer"),
    (variant(boot={"wait": "2"}), "boot/wait: should be an integer"),
    (variant(boot={"parallel_roles": 1}), "boot/parallel_roles: should be a boolean"),
    # kdeploy is stricter than Kamal where Kamal would only fail mid-deploy
    (variant(boot={"limit": "half"}),
     "boot/limit: should be an integer or a percentage such as 25%"),
    (variant(ssh={"port": "ssh"}), "ssh/port: should be an integer"),
    (variant(logging={"options": "max-size=1m"}), "logging/options: should be a hash"),
    (variant(aliases={"deploy": "app details"}),
     "aliases/deploy: Alias 'deploy' conflicts with a built-in command."),
    (variant(aliases={"Console": "app exec"}),
     "aliases/Console: Invalid alias name: 'Console'. Must only contain lowercase letters, "
     "alphanumeric, hyphens and underscores."),
    (variant(aliases={"c": ["app"]}), "aliases/c: should be a string"),
    # x-kdeploy
    (variant(**{"x-kdeploy": {"foo": 1}}), "x-kdeploy: unknown key: foo"),
    (variant(**{"x-kdeploy": {"python_interpreter": ["p"]}}),
     "x-kdeploy/python_interpreter: should be a string"),
    (variant(**{"x-kdeploy": "yes"}), "x-kdeploy: should be a hash"),
]


@pytest.mark.parametrize(("config", "message"), CASES, ids=[m for _, m in CASES])
def test_rejects_with_kamals_message(load, config, message):
    with pytest.raises(ConfigError) as error:
        load(config)
    assert error.value.message.endswith(f"deploy.yml: {message}")
    assert error.value.message.split(": ", 1)[0].endswith("config/deploy.yml")


@pytest.mark.parametrize("config", [
    variant(**{"x-anything": {"foo": [1]}}),
    variant(proxy=None, servers={"web": {"hosts": ["10.0.0.1"], "proxy": False}}),
    variant(registry={"server": "localhost:5000", "username": ["U"], "password": ["P"]}),
    variant(registry={"username": ["U"], "password": ["P"]}),
    variant(builder={"arch": ["amd64"]}),
    variant(ssh={"port": 2222, "config": True}),
    variant(env={"FOO": 1, "BAR": True, "BAZ": 1.5}),
    variant(servers={"web": ["10.0.0.1"], "jobs": []}, allow_empty_roles=True),
    variant(servers=None, accessories={"db": {"image": "x", "host": "h"}}),
    variant(hooks_output="verbose"),
    variant(boot={"limit": 3}),
    variant(boot={"limit": "25%"}),
    # Kamal 2.12's restart policies (2.11 rejected every one).
    *(variant(servers={"web": {**WEB, "options": {"restart": policy, "memory": "1g"}}})
      for policy in ("no", "always", "unless-stopped", "on-failure", "on-failure:3")),
    variant(accessories={"db": {"image": "x", "host": "h", "options": {"restart": "no"}}}),
])
def test_accepts_valid_shapes(load, config):
    load(config)


@pytest.mark.parametrize(("config", "message"), [
    (variant(builder={"arch": ["amd64", "arm64"], "pack": {}}),
     "builder: buildpacks only support building for one arch"),
    (variant(builder={"arch": "amd64", "cache": {"type": ""}}), "builder: Invalid cache type: "),
    (variant(proxy={"ssl": {}}), "proxy: Must set a host to enable automatic SSL"),
    (variant(hooks_output=""), "Invalid hooks_output '', must be one of: quiet, verbose"),
])
def test_ruby_truthiness_of_empty_values(load, config, message):
    # In Ruby an empty hash or string is true, so Kamal still applies these rules.
    with pytest.raises(ConfigError) as error:
        load(config)
    assert error.value.message.endswith(f"deploy.yml: {message}")


@pytest.mark.parametrize(("config", "message"), [
    (variant(hooks_output={"pre-deploy": ["verbose"]}),
     "hooks_output/pre-deploy: should be a string or a symbol"),
    (variant(servers={"web": ["10.0.0.1"], "jobs": {"hosts": [False, 1]}}),
     "No servers specified for the jobs role. You can ignore this with allow_empty_roles: true"),
])
def test_found_by_differential_fuzzing(load, config, message):
    # Cases where a first version disagreed with the real Kamal 2.11.0.
    with pytest.raises(ConfigError) as error:
        load(config)
    assert error.value.message.endswith(f"deploy.yml: {message}")


@pytest.mark.parametrize(("config", "message"), [
    (variant(minimum_version=-1), "Malformed version number string -1"),
    (variant(minimum_version="v2"), "Malformed version number string v2"),
])
def test_malformed_minimum_version(load, config, message):
    with pytest.raises(ConfigError) as error:
        load(config)
    assert error.value.message.endswith(f"deploy.yml: {message}")


@pytest.mark.parametrize("value", [0, True, 1.5])
def test_non_string_hooks_output_is_ignored_like_kamal(load, value):
    assert load(variant(hooks_output=value)).hooks_output is None
