"""The error a failed run ends with: one line per host, ssh's reason for unreachable ones."""

from __future__ import annotations

import json
from pathlib import Path

from kdeploy.run.failure import failure_message
from kdeploy.run.result import HostFailure, RunResult

ANSIBLE = json.loads((Path(__file__).parents[2] / "fixtures" / "ssh_errors" /
                      "ansible_unreachable.json").read_text())


def _unreachable(host: str, case: str) -> HostFailure:
    return HostFailure(host, "Take the deploy lock.", ANSIBLE[case], unreachable=True,
                       play="Lock")


def test_one_unreachable_host_is_one_line_with_the_step_and_sshs_reason() -> None:
    message = failure_message(RunResult(status="failed", failures=[
        _unreachable("10.0.0.9", "refused")]))
    assert message == ("10.0.0.9 unreachable at 'Take the deploy lock.' (play 'Lock'): "
                       "connection refused (ssh: connect to host 127.0.0.1 port 2223: "
                       "Connection refused)")


def test_a_changed_host_key_names_the_host_the_fingerprint_and_the_fix() -> None:
    message = failure_message(RunResult(status="failed", failures=[
        _unreachable("10.0.0.2", "changed"),
        HostFailure("10.0.0.1", "Boot the new version.", "unhealthy\nlog tail"),
        _unreachable("10.0.0.3", "timeout"),
    ]))
    first, fix, failed, timeout = message.splitlines()
    assert first.startswith("10.0.0.2 unreachable at 'Take the deploy lock.' (play 'Lock'): "
                            "host key changed: the host now sends ED25519 SHA256:ljXwS3a")
    assert fix.startswith("  To fix: if the host was rebuilt")
    assert '`ssh-keygen -f "/tmp/hk/kh2" -R "[127.0.0.2]:2222"`' in fix
    assert failed == "10.0.0.1 failed at 'Boot the new version.': unhealthy"
    assert timeout.startswith("10.0.0.3 unreachable at 'Take the deploy lock.' (play 'Lock'): "
                              "connection timed out")
