"""`kdeploy accessory …` and `kdeploy remove --purge` with a stubbed runner.

The stub replays what each command's report task returns per host, so these tests pin what the
commands print (Kamal's blocks and messages, kdeploy's boot and removal reports), their JSON,
the confirmations, the exit codes, and the plans handed to the runner.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from json_events import report_event, valid_events
from stub_runner import StubRunner

import kdeploy.cli as cli_package
import kdeploy.cli.accessory as accessory_module
import kdeploy.run.execute as execute_module
from kdeploy.run.result import HostFailure

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
# web: 10.0.10.1; mysql on 10.0.10.2; redis (service custom-redis) on 10.0.10.3-4.
ACCESSORIES = ("-c", "deploy_with_accessories.yml")


def kdeploy_cli():  # type: ignore[no-untyped-def]
    for name in ("app", "accessory", "remove"):
        importlib.import_module(f"kdeploy.cli.{name}")
    return cli_package.cli


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str,
        stdin: str | None = None):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return CliRunner().invoke(kdeploy_cli(), [*args, *ACCESSORIES], env={"VERSION": "v1"},
                              input=stdin)


def test_boot_reports_booted_running_and_differing_accessories(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({
        "10.0.10.2": {"msg": [{"accessory": "mysql", "outcome": "differs",
                               "differences": ["image", "env"]}]},
        "10.0.10.3": {"msg": [{"accessory": "redis", "outcome": "booted", "differences": []}]},
        "10.0.10.4": {"msg": []},
    })
    result = run(monkeypatch, stub, "accessory", "boot", "all")
    assert result.exit_code == 0, result.output
    assert ("Accessory mysql on 10.0.10.2 differs from its config in image, env; left running "
            "(apply it with: kdeploy accessory reboot mysql)\n"
            "Booted accessory redis on 10.0.10.3\n"
            "Skipping booting `redis` on 10.0.10.4, it is already running with this config\n"
            ) in result.output
    (plan,) = stub.plans
    assert plan.command == "accessory boot" and plan.lock_host == "10.0.10.1"


def test_boot_json_lists_each_accessory_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.2": {"msg": []}})
    result = run(monkeypatch, stub, "accessory", "boot", "mysql", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert (report["report"], report["items"]) == ("accessory boot", [
        {"host": "10.0.10.2", "accessory": "mysql", "outcome": "running", "differences": []}])


def test_unknown_accessory_exits_2_with_kamals_message(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "accessory", "reboot", "postgres")
    assert result.exit_code == 2
    assert "No accessory by the name of 'postgres' (options: mysql and redis)" in result.output
    assert stub.plans == []


def test_a_filter_without_accessory_hosts_does_nothing_like_kamal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "accessory", "boot", "all", "-r", "web")
    assert result.exit_code == 0, result.output
    assert "No hosts of accessory all inside the filters: nothing to boot" in result.output
    assert stub.plans == []


def test_a_filter_without_accessory_hosts_ends_the_json_stream(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "accessory", "boot", "all", "-r", "web", "--output", "json")
    assert result.exit_code == 0, result.output
    message, summary = valid_events(result.stdout)
    assert message["text"] == "No hosts of accessory all inside the filters: nothing to boot"
    assert (summary["type"], summary["command"], summary["hosts"], summary["exit_code"]) == (
        "summary", "accessory boot", {}, 0)
    assert stub.plans == []


def test_details_prints_kamals_accessory_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = "CONTAINER ID   NAMES\r\nabc   custom-redis\r\n"
    stub = StubRunner({"10.0.10.4": {"stdout": ps}, "10.0.10.3": {"stdout": ps}})
    result = run(monkeypatch, stub, "accessory", "details", "redis")
    assert result.exit_code == 0, result.output
    assert ("Accessory redis Host: 10.0.10.3\nCONTAINER ID   NAMES\nabc   custom-redis\n\n"
            "Accessory redis Host: 10.0.10.4\n") in result.output
    assert stub.plans[0].lock_host is None


def test_remove_asks_and_says_what_it_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accessory_module, "can_ask", lambda: True)
    stub = StubRunner({"10.0.10.2": {"msg": [{
        "accessory": "mysql", "outcome": "removed",
        "kept": ["directory /root/app-mysql/data", "volume mysqldata"]}]}})
    aborted = run(monkeypatch, stub, "accessory", "remove", "mysql", stdin="n\n")
    assert "Aborted" in aborted.output and stub.plans == []
    result = run(monkeypatch, stub, "accessory", "remove", "mysql", stdin="y\n")
    assert result.exit_code == 0, result.output
    assert ("Removed accessory mysql on 10.0.10.2; kept its data: /root/app-mysql/data, "
            "volume mysqldata (delete it with --purge)") in result.output
    assert stub.plans[0].extravars["accessory_purge"] is False


def test_remove_without_a_terminal_needs_y(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accessory_module, "can_ask", lambda: False)
    stub = StubRunner()
    result = run(monkeypatch, stub, "accessory", "remove", "mysql", "--purge")
    assert result.exit_code == 2 and "needs -y" in result.output
    assert stub.plans == []


def test_remove_purge_passes_purge(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.2": {"msg": [{"accessory": "mysql", "outcome": "purged",
                                              "kept": []}]}})
    result = run(monkeypatch, stub, "accessory", "remove", "mysql", "-y", "--purge")
    assert result.exit_code == 0, result.output
    assert "Removed accessory mysql on 10.0.10.2 with its data" in result.output
    assert stub.plans[0].extravars["accessory_purge"] is True


def test_top_level_remove_keeps_accessory_data_unless_purge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.2": {"msg": [{"accessory": "mysql", "outcome": "removed",
                                              "kept": ["volume mysqldata"]}]}})
    result = run(monkeypatch, stub, "remove", "-y")
    assert result.exit_code == 0, result.output
    assert "Removed accessory mysql on 10.0.10.2; kept its data: volume mysqldata" in result.output
    (plan,) = stub.plans
    parts = [entry.playbook for entry in plan.imports]
    # The report comes after the last accessory removal and before the unlock.
    assert parts[-3:] == ["accessory_report.yml", "registry_logout.yml", "lock_release.yml"]
    assert plan.extravars["accessory_purge"] is False
    purge = run(monkeypatch, stub, "remove", "-y", "--purge")
    assert purge.exit_code == 0, purge.output
    assert stub.plans[-1].extravars["accessory_purge"] is True


def test_exec_prints_each_hosts_output_and_fails_with_the_host(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.3": {"stdout": "PONG\r\n", "rc": 0}},
                      failures=[HostFailure("10.0.10.4", "Fail when the command failed on this "
                                            "host.", "The command exited with 1")])
    result = run(monkeypatch, stub, "accessory", "exec", "redis", "redis-cli", "ping")
    assert result.exit_code == 1
    assert "Launching command from new container..." in result.output
    assert "App Host: 10.0.10.3\nPONG" in result.output
    assert stub.plans[0].extravars["accessory_exec_command"] == "redis-cli ping"


def test_logs_print_lines_without_host_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.10.3": {"stdout": "a\r\n"}, "10.0.10.4": {"stdout": "b\r\n"}})
    result = run(monkeypatch, stub, "accessory", "logs", "redis", "-g", "x", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == "a\nb\n"
    assert stub.plans[0].extravars["accessory_logs_lines"] == -1


def test_interactive_exec_runs_ssh_on_the_first_accessory_host(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(accessory_module, "run_ssh", lambda argv: ran.append(argv) or 0)
    monkeypatch.setattr(accessory_module, "stdin_is_tty", lambda: True)
    stub = StubRunner({"10.0.10.3": {"msg": {"command": "docker exec -it custom-redis sh"}}})
    result = run(monkeypatch, stub, "accessory", "exec", "-i", "--reuse", "redis", "sh")
    assert result.exit_code == 0, result.output
    assert "Launching interactive command via SSH from existing container on 10.0.10.3" in (
        result.output)
    (argv,) = ran
    assert argv[-1] == "docker exec -it custom-redis sh" and "10.0.10.3" in " ".join(argv)
    assert stub.plans[0].extravars["accessory_ssh_command"] == "exec_reuse"


def test_upgrade_needs_confirmation_and_rolls_one_host_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accessory_module, "can_ask", lambda: False)
    stub = StubRunner({"10.0.10.3": {"msg": []}})
    refused = run(monkeypatch, stub, "accessory", "upgrade", "redis")
    assert refused.exit_code == 2 and stub.plans == []
    result = run(monkeypatch, stub, "accessory", "upgrade", "redis", "-y", "--rolling")
    assert result.exit_code == 0, result.output
    assert stub.plans[0].extravars["accessory_serial"] == 1
