"""ssh and sshkit: values and defaults."""

from __future__ import annotations

from config_helpers import variant


def test_ssh(load):
    ssh = load(variant(ssh={"user": "app", "port": "2222", "proxy": "bastion", "keys": ["k1"],
                            "keys_only": True, "config": ["c"], "log_level": "debug",
                            "key_data": ["SSH_KEY"]})).ssh
    assert (ssh.user, ssh.port, ssh.proxy, ssh.keys, ssh.keys_only) == (
        "app", 2222, "root@bastion", ("k1",), True)
    assert (ssh.config, ssh.log_level, ssh.key_data) == (("c",), "debug", ("SSH_KEY",))


def test_ssh_forward_agent_is_on_unless_false(load):
    # sshkit's default is true; Kamal 2.12 passes `forward_agent` over it when set.
    assert load(variant()).ssh.forward_agent is True
    assert load(variant(ssh={"forward_agent": True})).ssh.forward_agent is True
    assert load(variant(ssh={"forward_agent": False})).ssh.forward_agent is False


def test_ssh_proxy_with_user_and_command(load):
    assert load(variant(ssh={"proxy": "me@bastion"})).ssh.proxy == "me@bastion"
    assert load(variant(ssh={"proxy_command": "nc %h"})).ssh.proxy_command == "nc %h"


def test_sshkit(load):
    sshkit = load(variant(sshkit={"max_concurrent_starts": 10})).sshkit
    assert (sshkit.max_concurrent_starts, sshkit.pool_idle_timeout, sshkit.dns_retries) == (
        10, 900, 3)
