"""The unreachable-host classifier, on texts captured from real ssh, Ansible and mitogen runs.

tests/fixtures/ssh_errors holds what OpenSSH 9.2 printed (ssh_*.txt: stderr of `ssh -o
BatchMode=yes` against a real sshd, a closed port, a dropped port, a name that does not resolve,
a route that does not exist) and what ansible-core 2.19 and mitogen 0.3 reported for the same
hosts as `res.msg` of their `runner_on_unreachable` events (ansible_unreachable.json).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdeploy.run import ssh_errors
from kdeploy.run.ssh_errors import classify_ssh_error

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ssh_errors"
ANSIBLE = json.loads((FIXTURES / "ansible_unreachable.json").read_text())
FINGERPRINT = "ED25519 SHA256:ljXwS3aivIAUBIvfr5qNpVw3ZOV9a64oFvkLi9CPRs4"


@pytest.mark.parametrize(("case", "reason", "detail"), [
    ("auth", ssh_errors.AUTH_FAILED,
     "root@127.0.0.1: Permission denied (publickey,password,keyboard-interactive)."),
    ("banner_timeout", ssh_errors.TIMED_OUT, "Connection timed out during banner exchange"),
    ("closed", ssh_errors.CLOSED, "kex_exchange_identification: read: Connection reset by peer"),
    ("dns", ssh_errors.DNS,
     "ssh: Could not resolve hostname nosuchhost.invalid: Name or service not known"),
    ("net_unreachable", ssh_errors.NETWORK_UNREACHABLE,
     "ssh: connect to host 10.98.0.1 port 22: Network is unreachable"),
    ("no_route", ssh_errors.NO_ROUTE, "ssh: connect to host 10.99.99.1 port 22: No route to host"),
    ("refused", ssh_errors.REFUSED, "ssh: connect to host 127.0.0.1 port 2223: Connection refused"),
    ("timeout", ssh_errors.TIMED_OUT,
     "ssh: connect to host 127.0.0.1 port 22: Connection timed out"),
    ("unknown_ask_batch", ssh_errors.HOST_KEY_UNKNOWN, "Host key verification failed."),
    ("unknown_yes", ssh_errors.HOST_KEY_UNKNOWN,
     "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking."),
])
def test_ssh_stderr_is_read_into_a_reason_and_its_line(case: str, reason: str,
                                                         detail: str) -> None:
    fault = classify_ssh_error((FIXTURES / f"ssh_{case}.txt").read_text())
    assert (fault.reason, fault.detail) == (reason, detail)
    assert fault.host_key == (reason == ssh_errors.HOST_KEY_UNKNOWN)


@pytest.mark.parametrize("case", ["changed_accept_new", "changed_yes"])
def test_a_changed_key_gives_the_fingerprint_the_recorded_entry_and_the_fix(case: str) -> None:
    fault = classify_ssh_error((FIXTURES / f"ssh_{case}.txt").read_text(), "10.0.0.1")
    assert fault.reason == ssh_errors.HOST_KEY_CHANGED and fault.host_key
    assert fault.fingerprint == FINGERPRINT
    assert fault.recorded == "/tmp/hk/kh:1"
    assert fault.detail == ("Host key for [127.0.0.1]:2222 has changed and you have requested "
                            "strict checking.")
    # ssh's own removal command, with the known_hosts file and the [host]:port form it used.
    assert 'remove the old key with `ssh-keygen -f "/tmp/hk/kh" -R "[127.0.0.1]:2222"`' in (
        fault.fix or "")
    assert fault.summary() == (f"host key changed: the host now sends {FINGERPRINT}, not the key "
                               "recorded for it (recorded in /tmp/hk/kh:1)")


@pytest.mark.parametrize(("case", "reason"), [
    ("auth", ssh_errors.AUTH_FAILED),
    ("changed", ssh_errors.HOST_KEY_CHANGED),
    ("dns", ssh_errors.DNS),
    ("no_route", ssh_errors.NO_ROUTE),
    ("refused", ssh_errors.REFUSED),
    ("strict_unknown", ssh_errors.HOST_KEY_UNKNOWN),
    ("timeout", ssh_errors.TIMED_OUT),
    ("mitogen_changed", ssh_errors.HOST_KEY_MITOGEN),
    ("mitogen_new", ssh_errors.HOST_KEY_MITOGEN),
    ("mitogen_refused", ssh_errors.REFUSED),
    ("mitogen_dns", ssh_errors.DNS),
])
def test_ansible_and_mitogen_messages_are_read_through_their_wrapping(case: str,
                                                                      reason: str) -> None:
    fault = classify_ssh_error(ANSIBLE[case], "web1")
    assert fault.reason == reason
    assert "Task failed" not in fault.summary() and "\r" not in fault.summary()
    assert "Data could not be sent" not in fault.summary()


def test_the_changed_key_inside_ansibles_message_keeps_its_fingerprint() -> None:
    fault = classify_ssh_error(ANSIBLE["changed"], "web1")
    assert fault.fingerprint == FINGERPRINT
    assert 'ssh-keygen -f "/tmp/hk/kh2" -R "[127.0.0.2]:2222"' in (fault.fix or "")


def test_a_changed_key_without_sshs_removal_line_falls_back_to_the_host() -> None:
    fault = classify_ssh_error("Host key for web1 has changed and you have requested strict "
                               "checking.\nHost key verification failed.", "web1")
    assert fault.fingerprint is None
    assert "`ssh-keygen -R web1`" in (fault.fix or "")


@pytest.mark.parametrize(("case", "words"), [
    ("strict_unknown", "ssh-keyscan web1"), ("mitogen_new", "KDEPLOY_MITOGEN=0")])
def test_refused_unknown_keys_say_how_to_record_them(case: str, words: str) -> None:
    assert words in (classify_ssh_error(ANSIBLE[case], "web1").fix or "")


def test_a_message_without_a_known_reason_keeps_its_last_line() -> None:
    fault = classify_ssh_error("Task failed: Failed to connect to the host via ssh: "
                               "something new\r\nsubsystem request failed on channel 0")
    assert fault == ssh_errors.SshFault(ssh_errors.OTHER,
                                        "subsystem request failed on channel 0")
    assert fault.summary() == "ssh failed (subsystem request failed on channel 0)"
    assert not fault.host_key and fault.fix is None
