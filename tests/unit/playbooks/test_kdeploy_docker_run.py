"""docker_run's logic (plugins/module_utils/run_container.py): its argv, and what it does."""

from __future__ import annotations

from typing import Any

import pytest
from playbook_support import load_module_utils

docker_run = load_module_utils("run_container")

ARGS = ["--name", "app-db", "--detach", "--restart", "unless-stopped", "--network", "kamal",
        "--shm-size", "1g", "--network-alias", "db.internal"]


def params(**changes: Any) -> dict[str, Any]:
    return {"name": "app-db", "args": ARGS, "image": "postgres:16", "command": None,
            "spec_label": "kdeploy.spec", "spec_hash": "h2", "spec_fields": '{"image": "x"}',
            "recreate": False, "docker_host": "unix:///var/run/docker.sock", **changes}


def container(spec: str | None = "h2", running: bool = True) -> dict[str, Any]:
    labels = {"service": "app-db"} | ({"kdeploy.spec": spec} if spec else {})
    return {"Id": "c0ffee", "State": {"Running": running}, "Config": {"Labels": labels,
                                                                        "Image": "postgres:15"}}


class FakeDocker:
    """What the module asks of the daemon: an inspect, the CLI, stop and remove calls."""

    def __init__(self, found: dict[str, Any] | None, rc: int = 0) -> None:
        self.found, self.rc, self.calls = found, rc, []

    def inspect_container(self, name: str) -> dict[str, Any] | None:
        return self.found

    def cli(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(["docker", *argv])
        return self.rc, "" if self.rc else "new-id\n", "docker: Error response" if self.rc else ""

    def call(self, method: str, url: str, missing_ok: bool = False) -> None:
        self.calls.append([method, url])


class FakeModule:
    def __init__(self, module_params: dict[str, Any], check_mode: bool = False) -> None:
        self.params, self.check_mode = module_params, check_mode


def run(found: dict[str, Any] | None, check_mode: bool = False, **changes: Any
        ) -> tuple[dict[str, Any], list[list[str]]]:
    docker = FakeDocker(found)
    result = docker_run.DockerRun(FakeModule(params(**changes), check_mode), docker).run()
    return result, docker.calls


def test_the_argv_is_the_callers_then_the_spec_labels_the_image_and_the_command() -> None:
    argv = docker_run.run_argv(params(command="postgres -c 'shared_buffers=256MB'"))
    assert argv == ["run", *ARGS, "--label", "kdeploy.spec=h2",
                    "--label", 'kdeploy.spec.fields={"image": "x"}', "postgres:16",
                    "postgres", "-c", "shared_buffers=256MB"]


def test_a_missing_container_is_run_with_that_argv() -> None:
    result, calls = run(None)
    assert (result["action"], result["changed"], result["container_id"]) == (
        "create", True, "new-id")
    assert calls == [["docker", *docker_run.run_argv(params())]]


@pytest.mark.parametrize(("found", "action", "calls"), [
    # Same spec: left alone when running, started when stopped.
    (container(), None, []),
    (container(running=False), "start", [["docker", "start", "c0ffee"]]),
    # Another spec, or none (Kamal's): never touched.
    (container(spec="h1"), "differs", []),
    (container(spec=None), "differs", []),
    (container(spec=None, running=False), "differs", []),
])
def test_what_exists_decides(found: dict[str, Any], action: str | None,
                             calls: list[list[str]]) -> None:
    result, made = run(found)
    assert (result["action"], result["changed"], made) == (action, action == "start", calls)
    assert result["spec"] == found["Config"]["Labels"].get("kdeploy.spec")


@pytest.mark.parametrize("spec", ["h1", "h2", None])
def test_recreate_stops_removes_and_runs_whatever_the_spec(spec: str | None) -> None:
    result, calls = run(container(spec=spec), recreate=True)
    assert (result["action"], result["container_id"]) == ("replace", "new-id")
    assert calls == [["POST", "/containers/c0ffee/stop"], ["DELETE", "/containers/c0ffee"],
                     ["docker", *docker_run.run_argv(params(recreate=True))]]


@pytest.mark.parametrize(("found", "changes", "action"), [
    (None, {}, "create"), (container(running=False), {}, "start"),
    (container(spec="h1"), {"recreate": True}, "replace"),
])
def test_check_mode_says_what_it_would_do_and_does_nothing(
        found: dict[str, Any] | None, changes: dict[str, Any], action: str) -> None:
    result, calls = run(found, check_mode=True, **changes)
    assert (result["action"], result["changed"], result["container_id"], calls) == (
        action, True, None, [])
    assert result["diff"]["after"]["spec_hash"] == "h2"


def test_a_failing_docker_run_names_the_container_and_dockers_message() -> None:
    docker = FakeDocker(None, rc=125)
    with pytest.raises(docker_run.DockerError, match="docker run app-db failed: docker: Error"):
        docker_run.DockerRun(FakeModule(params()), docker).run()


def test_the_fields_label_is_shortened_in_the_result() -> None:
    result, _ = run(None)
    assert "kdeploy.spec.fields=..." in result["argv"]
