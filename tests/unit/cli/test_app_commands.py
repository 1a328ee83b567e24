"""`kdeploy app …`, `kdeploy remove` and `kdeploy details` with a stubbed runner.

The stub replays what the report task of each command returns per host (a loop over the host's
roles for most), so these tests pin what the commands print (Kamal's `puts_by_host` blocks and
messages), their JSON, the confirmation of `remove` and the exit codes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from json_events import report_event
from stub_runner import StubRunner

import kdeploy.cli as cli_package
import kdeploy.cli.app as app_module
import kdeploy.cli.remove as remove_module
import kdeploy.run.execute as execute_module
from kdeploy.config import load_config
from kdeploy.run.result import HostFailure
from kdeploy.run.ssh_command import ssh_argv

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "configs"
ROLES = ("-c", "deploy_with_roles.yml")  # web: 10.0.3.1-2, workers: 10.0.3.3-4
ACCESSORIES = ("-c", "deploy_with_accessories.yml")  # web: 10.0.10.1, mysql .2, redis .3-.4
PS = "CONTAINER ID   IMAGE   NAMES\r\nabc123   app:v1   app-web-v1\r\n"
# What `docker ps --format '{{json .}}'` prints (kdeploy_report_format: json), through the pty.
PS_JSON = ('{"Command":"\\"bin/app\\"","CreatedAt":"2026-12-06 08:30:00 +0000 UTC","ID":"abc123",'
           '"Image":"app:v1","Labels":"service=app","Names":"app-web-v1","Ports":"80/tcp",'
           '"RunningFor":"2 minutes ago","State":"running","Status":"Up 2 minutes"}\r\n')
CONTAINER = {"id": "abc123", "name": "app-web-v1", "image": "app:v1", "state": "running",
             "status": "Up 2 minutes", "ports": "80/tcp",
             "created": "2026-12-06 08:30:00 +0000 UTC"}
IMAGES_JSON = ('{"Containers":"N/A","CreatedAt":"2026-12-06 08:00:00 +0000 UTC","ID":"5f1e",'
               '"Repository":"app","SharedSize":"N/A","Size":"80MB","Tag":"v1"}\r\n')


def kdeploy_cli():  # type: ignore[no-untyped-def]
    entry = cli_package.main
    importlib.import_module("kdeploy.cli.app")
    importlib.import_module("kdeploy.cli.remove")
    cli_package.main = entry
    return cli_package.cli


def looped(*items: tuple[Any, str, int]) -> dict[str, Any]:
    """A loop task's result: (loop item, stdout, rc) per item."""
    key = "__app_ops_item" if isinstance(items[0][0], list) else "__app_ops_role"
    return {"results": [{key: item, "stdout": out, "rc": rc, "changed": False}
                        for item, out, rc in items]}


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def run(monkeypatch: pytest.MonkeyPatch, stub: StubRunner, *args: str,
        config: tuple[str, str] = ROLES, stdin: str | None = None):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(execute_module, "run_plan", stub)
    return CliRunner().invoke(kdeploy_cli(), [*args, *config], env={"VERSION": "v1"},
                              input=stdin)


def test_app_details_prints_each_role_under_its_host_in_kamals_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Results arrive in completion order; the output follows the selection's host order.
    stub = StubRunner({
        "10.0.3.3": looped((["app", "workers"], PS.replace("web", "workers"), 0)),
        "10.0.3.1": looped((["app", "web"], PS, 0)),
    })
    result = run(monkeypatch, stub, "app", "details", "-h", "10.0.3.1,10.0.3.3")
    assert result.exit_code == 0, result.output
    assert ("App Host: 10.0.3.1\nCONTAINER ID   IMAGE   NAMES\nabc123   app:v1   app-web-v1\n\n"
            "App Host: 10.0.3.3\nCONTAINER ID   IMAGE   NAMES\nabc123   app:v1   app-workers-v1\n"
            "--> Summary") in result.output
    (plan,) = stub.plans
    assert (plan.command, plan.limit) == ("app details", "10.0.3.1,10.0.3.3")


def test_quiet_leaves_out_the_host_headers_like_kamal(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": {"stdout": "v1\r\n"}, "10.0.3.2": {"stdout": "v2\r\n"},
                       "10.0.3.3": {"stdout": "\r\n"}, "10.0.3.4": {"stdout": "v1\r\n"}})
    result = run(monkeypatch, stub, "app", "version", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == "v1\n\nv2\n\n\n\nv1\n"


def test_app_version_json_maps_hosts_to_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.3": {"stdout": "v7\r\n"}})
    result = run(monkeypatch, stub, "app", "version", "-r", "workers", "-h", "10.0.3.3",
                 "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert (report["report"], report["items"]) == ("app version",
                                                   [{"host": "10.0.3.3", "version": "v7"}])
    assert "text" not in report


def test_app_version_json_says_null_where_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.3": {"stdout": "\r\n"}})
    result = run(monkeypatch, stub, "app", "version", "-h", "10.0.3.3", "--output", "json")
    assert result.exit_code == 0, result.output
    assert report_event(result.output)["items"] == [{"host": "10.0.3.3", "version": None}]


@pytest.mark.parametrize("action", ["containers", "images"])
def test_containers_and_images_print_one_listing_per_host(monkeypatch: pytest.MonkeyPatch,
                                                          action: str) -> None:
    stub = StubRunner({"10.0.3.2": {"stdout": PS}})
    result = run(monkeypatch, stub, "app", action, "-h", "10.0.3.2")
    assert result.exit_code == 0, result.output
    assert "App Host: 10.0.3.2\nCONTAINER ID   IMAGE   NAMES\nabc123" in result.output
    assert stub.plans[0].report_task == {"containers": "List the app containers.",
                                         "images": "List the app images."}[action]
    assert "kdeploy_report_format" not in stub.plans[0].extravars


def test_containers_json_lists_each_container_not_docker_s_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.2": {"stdout": PS_JSON + PS_JSON.replace("abc123", "def456")}})
    result = run(monkeypatch, stub, "app", "containers", "-h", "10.0.3.2", "--output", "json")
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert report["report"] == "app containers"
    assert report["items"] == [{"host": "10.0.3.2",
                                "containers": [CONTAINER, {**CONTAINER, "id": "def456"}]}]
    assert stub.plans[0].extravars["kdeploy_report_format"] == "json"


def test_images_json_lists_each_image(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.2": {"stdout": IMAGES_JSON}})
    result = run(monkeypatch, stub, "app", "images", "-h", "10.0.3.2", "--output", "json")
    assert result.exit_code == 0, result.output
    assert report_event(result.output)["items"] == [{"host": "10.0.3.2", "images": [
        {"id": "5f1e", "repository": "app", "tag": "v1",
         "created": "2026-12-06 08:00:00 +0000 UTC", "size": "80MB"}]}]


def test_logs_say_nothing_found_where_the_pipeline_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": looped(("web", "2026-01-01T00:00:00Z GET /up\r\n", 0)),
                       "10.0.3.2": looped(("web", "", 1))})
    result = run(monkeypatch, stub, "app", "logs", "-r", "web", "-g", "GET", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ("2026-01-01T00:00:00Z GET /up\n\nNothing found\n")
    extravars = stub.plans[0].extravars
    assert (extravars["app_ops_logs_grep"], extravars["app_ops_logs_lines"]) \
        == ("GET", -1)


def test_exec_shows_every_output_and_fails_with_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": looped(("web", "ok\r\n", 0)),
                       "10.0.3.3": looped(("workers", "boom\r\n", 2))},
                      failures=[HostFailure("10.0.3.3", "Fail when the command failed on this "
                                            "host.", "The command exited with 2")])
    result = run(monkeypatch, stub, "app", "exec", "-e", "A:1", "-e", "B:x:y", "-h",
                 "10.0.3.1,10.0.3.3", "--output", "json", "bin/check", "--all")
    assert result.exit_code == 1, result.output
    report = report_event(result.stdout)  # the summary ends it: no `error` event after it
    assert report["items"] == [
        {"host": "10.0.3.1", "role": "web", "rc": 0, "output": "ok"},
        {"host": "10.0.3.3", "role": "workers", "rc": 2, "output": "boom"}]
    # JSON prints no outcome lines for people: the error line says why.
    assert "ERROR: 10.0.3.3 failed at 'Fail when the command failed on this host.'" in \
        result.output
    extravars = stub.plans[0].extravars
    assert extravars["app_ops_exec_command"] == "bin/check --all"
    assert extravars["app_ops_exec_env"] == {"A": "1", "B": "x:y"}


@pytest.mark.parametrize(("args", "message"), [
    (("--detach", "--reuse", "ls"), "ERROR: Detach is not compatible with reuse"),
    ((), "ERROR: No command provided. You must specify a command to execute."),
    (("-e", "NOCOLON", "ls"), "ERROR: --env expects KEY:VALUE, got 'NOCOLON'"),
    (("-r", "nope", "ls"), "ERROR: No --roles match for nope"),
])
def test_exec_usage_errors_exit_2_before_running(monkeypatch: pytest.MonkeyPatch,
                                                 args: tuple[str, ...], message: str) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "app", "exec", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert stub.plans == []


def test_stale_containers_say_what_they_found_or_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({"10.0.3.1": looped(("web", "v0\r\nv00\r\n", 0)),
                       "10.0.3.3": looped(("workers", "", 0))})
    result = run(monkeypatch, stub, "app", "stale_containers", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Detected stale container for role web with version v0 (use `kdeploy app "
        "stale_containers --stop` to stop)\n\nDetected stale container for role web with "
        "version v00 (use `kdeploy app stale_containers --stop` to stop)\n")
    stopping = run(monkeypatch, stub, "app", "stale_containers", "--stop", "--output", "json")
    assert stopping.exit_code == 0, stopping.output
    assert report_event(stopping.output)["items"] == [
        {"host": "10.0.3.1", "role": "web", "version": "v0", "stopped": True},
        {"host": "10.0.3.1", "role": "web", "version": "v00", "stopped": True}]
    assert stub.plans[-1].lock_host == "10.0.3.1"


@pytest.mark.parametrize("action", ["start", "stop", "remove"])
def test_mutating_app_commands_run_locked(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    stub = StubRunner({"10.0.3.3": {}})
    result = run(monkeypatch, stub, "app", action, "-r", "workers", "-q")
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert (plan.command, plan.lock_host) == (f"app {action}", "10.0.3.3")


def test_mutating_app_commands_without_a_version_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    # Outside git, without --version or $VERSION: Kamal cannot write the lock details either.
    (tmp_path / "config").mkdir()
    config_text = (FIXTURES / "deploy_with_roles.yml").read_text()
    (tmp_path / "config" / "deploy.yml").write_text(config_text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(execute_module, "run_plan", StubRunner())
    result = CliRunner().invoke(kdeploy_cli(), ["app", "stop"], env={"VERSION": None})
    assert result.exit_code == 2, result.output
    assert "ERROR: No version for the lock details" in result.output


def test_remove_refuses_without_y_when_it_cannot_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "remove", config=ACCESSORIES)
    assert result.exit_code == 2, result.output
    assert "pass -y to confirm" in result.output
    assert stub.plans == []


@pytest.mark.parametrize(("answer", "runs"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_remove_asks_kamals_question_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                   answer: str, runs: bool) -> None:
    monkeypatch.setattr(remove_module, "can_ask", lambda: True)
    stub = StubRunner()
    result = run(monkeypatch, stub, "remove", config=ACCESSORIES, stdin=answer)
    assert result.exit_code == 0, result.output
    assert "This will remove all containers and images. Are you sure? [y/N]" in result.output
    assert bool(stub.plans) is runs
    assert ("Aborted" in result.output) is not runs


def test_remove_with_y_runs_the_whole_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    result = run(monkeypatch, stub, "remove", "-y", "-q", config=ACCESSORIES)
    assert result.exit_code == 0, result.output
    (plan,) = stub.plans
    assert [entry.playbook for entry in plan.imports] == [
        "lock_acquire.yml", "app_remove.yml", "proxy_remove.yml", "accessory_remove.yml",
        "accessory_remove.yml",
        "accessory_report.yml", "registry_logout.yml", "lock_release.yml"]
    assert plan.lock_host == "10.0.10.1"
    # The accessories' data is kept unless --purge (tests/unit/cli/test_accessory_commands.py).
    assert plan.extravars["accessory_purge"] is False


def test_details_prints_app_then_each_accessory(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({
        "10.0.10.3": looped((["accessory", "redis"], "redis-ps\r\n", 0)),
        "10.0.10.1": looped((["proxy", "kamal-proxy"], "proxy-ps\r\n", 0),
                            (["app", "web"], "web-ps\r\n", 0)),
        "10.0.10.2": looped((["accessory", "mysql"], "mysql-ps\r\n", 0)),
        "10.0.10.4": looped((["accessory", "redis"], "redis-ps4\r\n", 0)),
    })
    result = run(monkeypatch, stub, "details", config=ACCESSORIES)
    assert result.exit_code == 0, result.output
    assert (
        "Proxy Host: 10.0.10.1\nproxy-ps\n\nApp Host: 10.0.10.1\nweb-ps\n\n"
        "Accessory mysql Host: 10.0.10.2\nmysql-ps\n\n"
        "Accessory redis Host: 10.0.10.3\nredis-ps\n\nAccessory redis Host: 10.0.10.4"
        "\nredis-ps4\n--> Summary") in result.output
    assert stub.plans[0].command == "details"


def test_details_json_gives_the_containers_of_proxy_roles_and_accessories(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner({
        "10.0.10.1": looped((["proxy", "kamal-proxy"], "", 0), (["app", "web"], PS_JSON, 0)),
        "10.0.10.2": looped((["accessory", "mysql"], PS_JSON, 0)),
    })
    result = run(monkeypatch, stub, "details", "--output", "json", config=ACCESSORIES)
    assert result.exit_code == 0, result.output
    report = report_event(result.output)
    assert report["report"] == "details"
    assert report["items"] == [
        {"host": "10.0.10.1", "proxy": True, "containers": []},
        {"host": "10.0.10.1", "role": "web", "containers": [CONTAINER]},
        {"host": "10.0.10.2", "accessory": "mysql", "containers": [CONTAINER]}]
    assert "text" not in report
    assert stub.plans[0].extravars["kdeploy_report_format"] == "json"


def test_follow_logs_runs_ssh_on_the_primary_host(monkeypatch: pytest.MonkeyPatch) -> None:
    command = "sh -c 'docker ps …' | head -1 | xargs docker logs --timestamps --tail 10 --follow"
    stub = StubRunner({"10.0.3.1": {"msg": {"command": command, "version": ""}}})
    calls: list[list[str]] = []
    monkeypatch.setattr(app_module, "run_ssh", lambda argv: calls.append(argv) or 130)
    result = run(monkeypatch, stub, "app", "logs", "-f", "-q")
    assert result.exit_code == 130, result.output
    assert calls == [["ssh", "-t", "root@10.0.3.1", "-p", "22", command]]
    assert "Following logs on 10.0.3.1...\nssh -t root@10.0.3.1 -p 22 " in result.output
    assert stub.plans[0].extravars["app_ops_ssh_command"] == "follow_logs"


def test_interactive_exec_runs_ssh_with_the_rendered_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    command = "docker run -i --rm --name app-workers-exec-v1-abcdef … bash"
    stub = StubRunner({"10.0.3.3": {"msg": {"command": command, "version": "v1"}}})
    calls: list[list[str]] = []
    monkeypatch.setattr(app_module, "run_ssh", lambda argv: calls.append(argv) or 0)
    result = run(monkeypatch, stub, "app", "exec", "-i", "-r", "workers", "bash")
    assert result.exit_code == 0, result.output
    assert calls == [["ssh", "-t", "root@10.0.3.3", "-p", "22", command]]
    assert ("Launching interactive command with version v1 via SSH from new container on "
            "10.0.3.3...") in result.output
    assert stub.plans[0].extravars["app_ops_interactive_args"] == "-i"  # no terminal


def test_ssh_argv_uses_kamals_ssh_options() -> None:
    # Kamal's run_over_ssh: -F, -J, -i per key, IdentitiesOnly, -t user@host -p port 'command'.
    config = load_config(FIXTURES / "deploy_with_ssh.yml", version="v1", environ={})
    home = str(Path.home())
    assert ssh_argv(config, "10.0.21.1", "docker ps") == [
        "ssh", "-F", "/dev/null", "-J", "root@bastion.example.com",
        "-i", f"{home}/.ssh/id_ed25519", "-i", f"{home}/.ssh/other", "-o", "IdentitiesOnly=yes",
        "-t", "app@10.0.21.1", "-p", "2222", "docker ps"]
