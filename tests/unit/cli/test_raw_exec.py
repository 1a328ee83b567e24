"""`app|accessory|server exec --raw` (Kamal 2.12) with a stubbed runner.

The hosts send the command's stdout base64-encoded; kdeploy must write exactly those bytes to
stdout (nothing else: no step lines, no `App Host:`), in host order, and keep its own lines and
the command's stderr on stderr.
"""

from __future__ import annotations

import base64
import importlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from stub_runner import StubRunner

import kdeploy.cli as cli_package
import kdeploy.run.execute as execute_module
from kdeploy.cli.raw_exec import raw_chunks, redact_bytes
from kdeploy.run.result import HostFailure

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ROLES = ("-c", "deploy_with_roles.yml")  # web: 10.0.3.1-2, workers: 10.0.3.3-4
ACCESSORIES = ("-c", "deploy_with_accessories.yml")  # web: 10.0.10.1, mysql .2, redis .3-.4
BINARY = b"a\x00b\r\nc\xff\n\n"


def b64(data: bytes) -> str:
    # As `base64` on the host prints it: lines of 76 characters.
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i:i + 76] + "\n" for i in range(0, len(encoded), 76))


def looped(*items: tuple[str, bytes, int]) -> dict[str, Any]:
    return {"results": [{"__app_ops_role": role, "stdout": b64(out), "stderr": "", "rc": rc}
                        for role, out, rc in items]}


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str,
        config: tuple[str, str] = ROLES):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    for module in ("app", "accessory", "server"):
        importlib.import_module(f"kdeploy.cli.{module}")
    # The config option right after the command: server exec takes every later word as CMD.
    return CliRunner().invoke(cli_package.cli, [*args[:2], *config, *args[2:]],
                              env={"VERSION": "v1"})


def test_app_exec_raw_writes_each_roles_bytes_in_host_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Results arrive in completion order; the bytes follow the selection's host order.
    stub = StubRunner({"10.0.3.3": looped(("workers", b"3" + BINARY, 0)),
                       "10.0.3.1": looped(("web", b"1" + BINARY, 0)),
                       "10.0.3.2": looped(("web", b"", 0))})
    result = run(monkeypatch, stub, "app", "exec", "--raw", "-h", "10.0.3.1,10.0.3.2,10.0.3.3",
                 "tar", "c", "/data")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"1" + BINARY + b"3" + BINARY
    extravars = stub.plans[0].extravars
    assert (extravars["app_ops_exec_raw"], extravars["app_ops_exec_command"]) == (
        True, "tar c /data")


def test_without_raw_the_role_gets_raw_false(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": {"results": [
        {"__app_ops_role": "web", "stdout": "ok\r\n", "rc": 0}]}})
    result = run(monkeypatch, stub, "app", "exec", "-h", "10.0.3.1", "-q", "true")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok\n"
    assert stub.plans[0].extravars["app_ops_exec_raw"] is False


def test_server_exec_raw_failure_keeps_stdout_exact_and_says_why_on_stderr(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": {"stdout": b64(b"partial\x00"), "stderr": "oops\n", "rc": 4}},
                      failures=[HostFailure("10.0.3.1", "Fail because the command failed.",
                                            "'x' exited with status 4 on 10.0.3.1")])
    result = run(monkeypatch, stub, "server", "exec", "--raw", "-h", "10.0.3.1", "x")
    assert result.exit_code == 1
    assert result.stdout_bytes == b"partial\x00"
    assert "oops" in result.stderr and "exited with status 4" in result.stderr
    assert stub.plans[0].extravars["kdeploy_server_exec_raw"] is True


def test_accessory_exec_raw_plans_raw_and_writes_the_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.2": {"stdout": b64(BINARY), "stderr": "", "rc": 0}})
    result = run(monkeypatch, stub, "accessory", "exec", "--raw", "--reuse", "mysql",
                 "mysqldump", "app", config=ACCESSORIES)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == BINARY
    assert stub.plans[0].extravars["accessory_exec_raw"] is True


@pytest.mark.parametrize(("args", "message"), [
    (("app", "exec", "--raw", "-i", "ls"), "ERROR: Raw is not compatible with interactive"),
    (("app", "exec", "--raw", "--detach", "ls"), "ERROR: Raw is not compatible with detach"),
    (("app", "exec", "--raw", "--detach", "--reuse", "ls"),
     "ERROR: Detach is not compatible with reuse"),
    (("app", "exec", "--raw"), "ERROR: No command provided."),
    (("server", "exec", "--raw", "-i", "ls"), "ERROR: Raw is not compatible with interactive"),
    (("accessory", "exec", "--raw", "-i", "mysql", "ls"),
     "ERROR: Raw is not compatible with interactive"),
    (("app", "exec", "--raw", "--output", "json", "ls"), "does not apply to --output json"),
])
def test_raw_refusals_exit_2_before_running(monkeypatch: pytest.MonkeyPatch,
                                            args: tuple[str, ...], message: str) -> None:
    stub = StubRunner()
    config = ACCESSORIES if args[0] == "accessory" else ROLES
    result = run(monkeypatch, stub, *args, config=config)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert stub.plans == []


def test_raw_chunks_skip_skipped_items_and_absent_hosts() -> None:
    results = {"h2": {"results": [{"skipped": True}, {"stdout": b64(b"x"), "stderr": "e"}]},
               "h1": {"stdout": b64(b"\x00"), "stderr": ""}}
    assert raw_chunks(("h1", "h2", "h3"), results) == [(b"\x00", ""), (b"x", "e")]


def test_secrets_are_masked_in_bytes_too() -> None:
    redact = redact_bytes(["s3cr3t-value", "no"])
    assert redact(b"\x00s3cr3t-value\xffno") == b"\x00[REDACTED]\xffno"
