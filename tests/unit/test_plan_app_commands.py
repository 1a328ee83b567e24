"""Plans of `kdeploy app …`, `remove` and `details`: whole selections, then the docker commands.

The last tests run the generated part playbooks for real against this machine (local
connection) with a fake `docker` that records its argv, and compare it with the commands Kamal
2.11 ran on the sandbox for the same config (copied from its output).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from context_helpers import context

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.plan.app_commands import (
    APP_REPORT_TASKS,
    ExecOptions,
    LogsOptions,
    build_app_exec_plan,
    build_app_logs_plan,
    build_app_plan,
    build_app_ssh_plan,
    build_app_stale_plan,
    build_details_plan,
    build_remove_plan,
)
from kdeploy.plan.proxy import proxy_targets as proxy_hosts
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.sandbox.example import deploy_config
from kdeploy.selection import CommandContext, Filters, select

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
LOCK = PlaybookImport("lock_acquire.yml", ("lock",))
UNLOCK = PlaybookImport("lock_release.yml", ("lock",))


def _config(name: str = "deploy_with_roles.yml", version: str | None = "v1", **kwargs):  # type: ignore[no-untyped-def]
    return load_config(FIXTURES / name, version=version, environ={}, **kwargs)


@pytest.mark.parametrize("action", ["details", "containers", "images", "version"])
def test_read_only_commands_run_their_part_on_the_app_hosts(action: str) -> None:
    plan = build_app_plan(context(_config()), action)
    assert plan.command == f"app {action}"
    assert plan.playbook == f"kdeploy_app_{action}.yml"
    assert plan.imports == (PlaybookImport(f"app_{action}.yml", ("app",)),)
    assert plan.limit == "10.0.3.1,10.0.3.2,10.0.3.3,10.0.3.4"
    assert plan.extravars == {"app_ops_roles": ["web", "workers"],
                              "app_ops_proxy_roles": ["web"]}
    assert plan.report_task == APP_REPORT_TASKS[action]
    assert (plan.lock_host, plan.secret_names, plan.tags, plan.skip_tags) == (None, (), (), ())


@pytest.mark.parametrize(("options", "roles", "limit"), [
    (Filters(roles="workers"), ["workers"], "10.0.3.3,10.0.3.4"),
    (Filters(hosts="10.0.3.2"), ["web"], "10.0.3.2"),
    (Filters(primary=True), ["web"], "10.0.3.1"),
    (Filters(roles="w*", hosts="10.0.3.4"), ["workers"], "10.0.3.4"),
])
def test_filters_choose_the_roles_and_app_hosts(options: Filters, roles: list[str],
                                                limit: str) -> None:
    plan = build_app_plan(CommandContext(_config(), options, performer="kdeploy"), "version")
    assert (plan.extravars["app_ops_roles"], plan.limit) == (roles, limit)


def test_a_filter_without_app_hosts_is_a_usage_error() -> None:
    # 10.0.10.2 only carries the mysql accessory: Kamal's app_hosts is empty there.
    with pytest.raises(UsageError, match="No app hosts selected"):
        build_app_plan(context(_config("deploy_with_accessories.yml"), hosts="10.0.10.2"),
                       "details")
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_app_plan(context(_config(), roles="nope"), "details")
    with pytest.raises(UsageError, match="Unknown app action boot"):
        build_app_plan(context(_config()), "boot")


@pytest.mark.parametrize("action", ["start", "stop", "remove"])
def test_mutating_commands_take_the_deploy_lock_like_kamal(action: str) -> None:
    plan = build_app_plan(context(_config(), roles="workers", performer="ops@x"), action)
    assert plan.imports == (LOCK, PlaybookImport(f"app_{action}.yml", ("app",)), UNLOCK)
    assert plan.playbook == f"kdeploy_app_{action}.yml"
    # The lock lives on the filtered primary host, which must be inside the limit.
    assert plan.lock_host == "10.0.3.3"
    assert plan.limit == "10.0.3.3,10.0.3.4"
    assert plan.extravars["kdeploy_lock_host"] == "10.0.3.3"
    assert plan.extravars["lock_message"] == "Automatic deploy lock"
    assert plan.extravars["kdeploy_version"] == "v1"
    assert plan.extravars["kdeploy_performer"] == "ops@x"
    assert plan.report_task is None


def test_start_starts_the_config_version() -> None:
    plan = build_app_plan(context(_config()), "start")
    assert plan.extravars["app_ops_version"] == "v1"


def test_locked_commands_need_a_version_like_kamal() -> None:
    config = replace(_config(), version=None)  # no --version, no $VERSION, no git
    for action in ("start", "stop", "remove"):
        with pytest.raises(UsageError, match="No version for"):
            build_app_plan(context(config), action)
    with pytest.raises(UsageError, match="No version for the lock details"):
        build_remove_plan(context(config))
    # Reading needs none.
    assert build_app_plan(context(config), "details").extravars


def test_lock_host_outside_the_app_hosts_joins_the_limit() -> None:
    # -h on the accessory host and a web host: the lock goes to the first -h host.
    plan = build_app_plan(context(_config("deploy_with_accessories.yml"),
                                  hosts="10.0.10.2,10.0.10.1"), "stop")
    assert plan.lock_host == "10.0.10.2"
    assert plan.limit == "10.0.10.1,10.0.10.2"


def test_stale_containers_lists_without_and_stops_under_the_lock() -> None:
    listing = build_app_stale_plan(context(_config()), stop=False)
    assert listing.imports == (PlaybookImport("app_stale_containers.yml", ("app",)),)
    assert listing.extravars["app_ops_stale_stop"] is False
    assert listing.lock_host is None
    stopping = build_app_stale_plan(context(_config()), stop=True)
    assert stopping.imports == (LOCK, PlaybookImport("app_stale_containers.yml", ("app",)),
                                UNLOCK)
    assert stopping.extravars["app_ops_stale_stop"] is True
    assert stopping.lock_host == "10.0.3.1"
    assert stopping.report_task == APP_REPORT_TASKS["stale_containers"]


@pytest.mark.parametrize(("logs", "lines"), [
    (LogsOptions(), 100),
    (LogsOptions(lines=5), 5),
    (LogsOptions(since="5m"), -1),
    (LogsOptions(grep="GET"), -1),
    (LogsOptions(grep="GET", lines=3), 3),
])
def test_logs_show_kamals_default_lines(logs: LogsOptions, lines: int) -> None:
    plan = build_app_logs_plan(context(_config()), logs)
    assert plan.extravars["app_ops_logs_lines"] == lines
    assert plan.imports == (PlaybookImport("app_logs.yml", ("app",)),)
    assert plan.report_task == "Read the app logs."


def test_logs_options_pass_through_as_typed() -> None:
    # Written !unsafe with every extra var (private_data_dir), so `{{ user }}` stays text.
    plan = build_app_logs_plan(context(_config()), LogsOptions(
        since="2013-01-02T13:23:37Z", grep="{{ user }}", grep_options="-i",
        skip_timestamps=True, container_id="abc123"))
    assert {key: value for key, value in plan.extravars.items() if "_logs_" in key} == {
        "app_ops_logs_since": "2013-01-02T13:23:37Z",
        "app_ops_logs_lines": -1,
        "app_ops_logs_grep": "{{ user }}",
        "app_ops_logs_grep_options": "-i",
        "app_ops_logs_timestamps": False,
        "app_ops_logs_container_id": "abc123",
    }


def test_exec_runs_the_latest_image_in_new_containers_by_default() -> None:
    plan = build_app_exec_plan(context(_config()), ExecOptions(
        command=("bin/rails ", " db:migrate"), env={"A": "1"}))
    assert plan.imports == (PlaybookImport("app_exec.yml", ("app",)),)
    assert plan.lock_host is None  # Kamal does not lock exec
    assert plan.secret_names == ("KAMAL_REGISTRY_PASSWORD",)  # the login
    extravars = plan.extravars
    assert extravars["app_ops_version"] == "latest"
    assert extravars["app_ops_exec_command"] == "bin/rails db:migrate"
    assert extravars["app_ops_exec_env"] == {"A": "1"}
    assert (extravars["app_ops_exec_reuse"], extravars["app_ops_exec_detach"]) \
        == (False, False)
    assert extravars["app_ops_option_args"] == {"workers": [
        "--memory", "2g", "--cpus", "4", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME",
        "--read-only"]}
    assert extravars["app_ops_primary_host"] == "10.0.3.1"
    assert extravars["kdeploy_version"] == "v1"


def test_exec_versions() -> None:
    staging = _config("deploy_with_destinations.yml", destination="staging")
    new = build_app_exec_plan(context(staging), ExecOptions(command=("ls",)))
    assert new.extravars["app_ops_version"] == "latest-staging"
    given = build_app_exec_plan(context(staging, version="v9"), ExecOptions(command=("ls",)))
    assert given.extravars["app_ops_version"] == "v9"
    # Reuse: the version running on the primary host (the part reads it), no login.
    reuse = build_app_exec_plan(context(staging), ExecOptions(command=("ls",), reuse=True))
    assert reuse.extravars["app_ops_version"] == ""
    assert reuse.secret_names == ()


@pytest.mark.parametrize(("options", "message"), [
    (ExecOptions(command=("ls",), detach=True, reuse=True),
     "Detach is not compatible with reuse"),
    (ExecOptions(command=("ls",), detach=True, interactive=True, reuse=True),
     "Detach is not compatible with interactive or reuse"),
    (ExecOptions(), "No command provided. You must specify a command to execute."),
])
def test_exec_refuses_what_kamal_refuses(options: ExecOptions, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        build_app_exec_plan(context(_config()), options)


def test_follow_logs_prepares_the_primary_roles_first_host() -> None:
    plan = build_app_ssh_plan(context(_config()), "follow_logs", logs=LogsOptions())
    assert plan.command == "app logs"
    assert plan.imports == (PlaybookImport("app_ssh_command.yml", ("app",)),)
    assert plan.playbook == "kdeploy_app_ssh_command.yml"
    assert plan.limit == "10.0.3.1"
    assert plan.extravars["app_ops_primary_host"] == "10.0.3.1"
    assert plan.extravars["app_ops_roles"] == ["web"]
    assert plan.extravars["app_ops_ssh_command"] == "follow_logs"
    assert plan.extravars["app_ops_logs_lines"] == 10  # Kamal's default with -f
    assert plan.secret_names == ()
    assert plan.report_task == "Render the command for ssh -t."
    workers = build_app_ssh_plan(context(_config(), roles="workers"), "follow_logs")
    assert (workers.limit, workers.extravars["app_ops_roles"]) == ("10.0.3.3",
                                                                           ["workers"])


def test_interactive_exec_logs_in_on_the_primary_host() -> None:
    plan = build_app_ssh_plan(context(_config(), hosts="10.0.3.4"), "exec",
                              exec_options=ExecOptions(command=("bash",), interactive=True),
                              tty=False)
    assert plan.command == "app exec"
    assert plan.limit == "10.0.3.4"
    assert plan.extravars["app_ops_interactive_args"] == "-i"
    assert plan.extravars["app_ops_exec_command"] == "bash"
    assert plan.extravars["app_ops_version"] == "latest"
    assert plan.secret_names == ("KAMAL_REGISTRY_PASSWORD",)
    reuse = build_app_ssh_plan(context(_config()), "exec_reuse", exec_options=ExecOptions(
        command=("bash",), interactive=True, reuse=True))
    assert reuse.secret_names == ()
    assert reuse.extravars["app_ops_interactive_args"] == "-it"
    with pytest.raises(UsageError, match="Detach is not compatible with interactive"):
        build_app_ssh_plan(context(_config()), "exec", exec_options=ExecOptions(
            command=("bash",), interactive=True, detach=True))


def test_remove_is_kamals_sequence_under_one_lock() -> None:
    plan = build_remove_plan(context(_config("deploy_with_accessories.yml")))
    assert plan.command == "remove"
    assert plan.playbook == "kdeploy_remove.yml"
    assert plan.imports == (
        LOCK,
        PlaybookImport("app_remove.yml", ("app",)),
        # Kamal removes the proxy after the app (kept while other apps are installed there).
        PlaybookImport("proxy_remove.yml", ("proxy",), {"proxy_hosts": "10.0.10.1"}),
        PlaybookImport("accessory_remove.yml", ("accessory", "accessory_mysql"),
                       {"accessory_name": "mysql"}),
        PlaybookImport("accessory_remove.yml", ("accessory", "accessory_redis"),
                       {"accessory_name": "redis"}),
        PlaybookImport("registry_logout.yml", ("registry",)),
        UNLOCK,
    )
    assert plan.limit is None
    assert plan.lock_host == "10.0.10.1"
    assert plan.extravars["app_ops_roles"] == ["web"]
    assert plan.secret_names == ()  # logging out needs no password


def test_filtered_remove_keeps_to_the_filtered_hosts() -> None:
    # Kamal: -h keeps the accessories living on those hosts, and only those.
    plan = build_remove_plan(context(_config("deploy_with_accessories.yml"),
                                     hosts="10.0.10.1,10.0.10.3"))
    assert plan.limit == "10.0.10.1,10.0.10.3"
    names = [entry.vars.get("accessory_name") for entry in plan.imports
             if isinstance(entry, PlaybookImport) and "accessory_name" in entry.vars]
    assert names == ["redis"]


def test_remove_needs_a_host_for_the_lock() -> None:
    with pytest.raises(UsageError, match="No host to hold the deploy lock"):
        build_remove_plan(context(_config("deploy_with_only_accessories.yml")))


def test_details_shows_proxy_app_and_accessories_of_the_filtered_hosts() -> None:
    plan = build_details_plan(context(_config("deploy_with_accessories.yml")))
    assert plan.imports == (PlaybookImport("app_details.yml", ("details",)),)
    assert plan.playbook == "kdeploy_details.yml"
    assert plan.limit is None
    assert plan.extravars["app_ops_accessories"] == ["mysql", "redis"]
    assert plan.extravars["app_ops_proxy_hosts"] == ["10.0.10.1"]
    assert plan.report_task == "Read the details of the containers."
    only_redis = build_details_plan(context(_config("deploy_with_accessories.yml"),
                                            hosts="10.0.10.4"))
    assert only_redis.limit == "10.0.10.4"
    assert only_redis.extravars["app_ops_accessories"] == ["redis"]
    assert only_redis.extravars["app_ops_proxy_hosts"] == []


def test_proxy_hosts_are_kamals() -> None:
    config = _config("deploy_with_proxy.yml")
    # Roles in Kamal's order: primary first, then by name.
    assert proxy_hosts(config, select(config)) == (
        "10.0.18.1", "10.0.18.3", "10.0.18.2", "10.0.18.5")
    plan = build_app_plan(context(config), "stop")
    assert plan.extravars["app_ops_proxy_roles"] == ["web", "admin", "api", "metrics"]


# --- The commands on a host: run the parts locally with a fake docker. ---

REGISTRY = "10.213.7.1:5000"
# Kamal 2.11's current_running_container for the sandbox example, from its output: `sh -c 'A ;
# B' | head -1`, A with the ancestor filter of the latest image's id (empty here), B without it.
KAMAL_PS = ("docker ps --latest {fmt} --filter label=service=kdeploy-demo "
            "--filter label=destination= --filter label=role={role} --filter status=running "
            "--filter status=restarting")
KAMAL_LATEST_ID = (f"docker image ls --filter reference={REGISTRY}/kdeploy-demo:latest "
                   "--format '{{.ID}}'")
FAKE_DOCKER = """#!/bin/sh
# Records each call's argv (one call per line, each argument in brackets), in one write: calls
# of one pipeline may run at the same time.
line='[docker]'
for arg in "$@"; do line="$line[$arg]"; done
printf '%s\\n' "$line" >> "$FAKE_DOCKER_LOG"
if [ "$1 $2" = "ps --latest" ]; then echo kdeploy-demo-job-v2; fi
"""


def _argv(command: str) -> list[str]:
    return shlex.split(command)


def _recorded(log: Path) -> list[list[str]]:
    calls = log.read_text().splitlines() if log.exists() else []
    return [re.findall(r"\[([^\]]*)\]", call) for call in calls]


def _current(role: str, fmt: str) -> list[list[str]]:
    ps = _argv(KAMAL_PS.format(fmt=fmt, role=role))
    return [_argv(KAMAL_LATEST_ID), [*ps, "--filter", "ancestor="], ps]


def _after_current(calls: list[list[str]], role: str, fmt: str) -> list[list[str]]:
    """The calls without one current_running_container lookup (its second `docker ps` may run
    after xargs started the next command: `head -1` does not wait for it)."""
    rest = list(calls)
    for call in _current(role, fmt):
        assert call in rest, (call, calls)
        rest.remove(call)
    return rest


@pytest.fixture(scope="module")
def sandbox_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("project")
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1", "10.0.99.2",
                                                           "10.0.99.3"])
    (directory / "config").mkdir()
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    return directory / "config" / "deploy.yml"


def _run_locally(config_file: Path, plan: Plan, tmp_path: Path) -> list[list[str]]:
    ansible_playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if ansible_playbook is None:
        pytest.skip("ansible-playbook is not installed")
    config = load_config(config_file, version="v1", environ={})
    directory = tmp_path / "pdd"
    write_private_data_dir(directory, config, plan)
    bin_dir, home, log = tmp_path / "bin", tmp_path / "home", tmp_path / "docker.log"
    bin_dir.mkdir()
    home.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    result = subprocess.run(
        [ansible_playbook, "-i", "../inventory/hosts.yml", "-e", "@../env/extravars",
         "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", "registry_stored=true", plan.playbook, *plan.ansible_playbook_args()],
        cwd=directory / "project", capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "HOME": str(home), "FAKE_DOCKER_LOG": str(log),
             "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
             "ANSIBLE_CONFIG": str(directory / "project" / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return _recorded(log)


def test_exec_runs_kamals_docker_run(sandbox_like: Path, tmp_path: Path) -> None:
    config = load_config(sandbox_like, version="v1", environ={})
    plan = build_app_exec_plan(context(config, roles="job", version="v1"),
                               ExecOptions(command=("echo", "hi"), env={"FOO": "bar"}))
    (call,) = _run_locally(sandbox_like, plan, tmp_path)
    # Kamal: the name ends in 6 random hex digits.
    assert re.fullmatch(r"kdeploy-demo-job-exec-v1-[0-9a-f]{6}", call[4]), call
    call[4] = "NAME"
    assert call == _argv(
        "docker run --rm --name NAME --network kamal "
        "--env-file .kamal/apps/kdeploy-demo/env/roles/job.env --env FOO=\"bar\" "
        f"--log-opt max-size=\"10m\" {REGISTRY}/kdeploy-demo:v1 echo hi")


def test_stop_pipes_kamals_current_container_into_docker_stop(sandbox_like: Path,
                                                              tmp_path: Path) -> None:
    config = load_config(sandbox_like, version="v1", environ={})
    plan = build_app_plan(context(config, roles="job"), "stop")
    calls = _run_locally(sandbox_like, plan, tmp_path)
    assert _after_current(calls, "job", "--quiet") == [
        _argv("docker stop -t 30 kdeploy-demo-job-v2")]


def test_logs_pipe_the_current_container_into_docker_logs(sandbox_like: Path,
                                                          tmp_path: Path) -> None:
    config = load_config(sandbox_like, version="v1", environ={})
    plan = build_app_logs_plan(context(config, roles="job"),
                               LogsOptions(since="5m", grep="GET /up"))
    calls = _run_locally(sandbox_like, plan, tmp_path)
    assert _after_current(calls, "job", "--quiet") == [
        _argv("docker logs --timestamps --since 5m kdeploy-demo-job-v2")]


def test_remove_runs_kamals_removal_commands(sandbox_like: Path, tmp_path: Path) -> None:
    config = load_config(sandbox_like, version="v1", environ={})
    plan = build_remove_plan(context(config, hosts="10.0.99.1"))
    calls = _run_locally(sandbox_like, plan, tmp_path)
    assert _after_current(calls, "web", "--quiet") == [
        _argv("docker stop -t 30 kdeploy-demo-job-v2"),
        _argv("docker container prune --force --filter label=service=kdeploy-demo "
              "--filter label=destination= --filter label=role=web"),
        _argv("docker image prune --all --force --filter label=service=kdeploy-demo"),
        _argv("docker container stop kdeploy-demo-db"),
        _argv("docker container prune --force --filter label=service=kdeploy-demo-db"),
        _argv(f"docker image rm --force {REGISTRY}/kdeploy-db:1"),
        _argv(f"docker logout {REGISTRY}"),
    ]
    audit = (tmp_path / "home" / ".kamal" / "kdeploy-demo-audit.log").read_text()
    # Kamal's lines after `[<time>] [<performer>] `: the role tag where Kamal records the role.
    messages = [line.split("] ", 2)[-1] for line in audit.splitlines()]
    assert messages == ["[web] Stopped app", "[web] Removed all app containers",
                        "Removed all app images",
                        "Removed .kamal/apps/kdeploy-demo", "Stopped db accessory",
                        "Remove db accessory container", "Removed db accessory image"]


def test_details_runs_kamals_docker_ps_for_proxy_app_and_accessory(tmp_path: Path) -> None:
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1", "10.0.99.2"])
    config["servers"]["web"]["proxy"] = True  # host 1 runs kamal-proxy for web
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(config))
    plan = build_details_plan(context(load_config(config_file, version="v1", environ={}),
                                      hosts="10.0.99.1"))
    assert _run_locally(config_file, plan, tmp_path) == [
        _argv("docker ps --filter 'name=^kamal-proxy$'"),
        _argv("docker ps --filter label=service=kdeploy-demo --filter label=destination= "
              "--filter label=role=web"),
        _argv("docker ps --filter label=service=kdeploy-demo-db"),
    ]


def test_plans_are_frozen_values() -> None:
    plan = build_app_plan(context(_config()), "details")
    assert replace(plan) == plan
