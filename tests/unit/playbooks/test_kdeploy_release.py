"""The release module (plugins/modules/release.py): its pure parts and its flow.

The flow tests drive `Release` with a Docker double that records calls; the e2e tests run the
real module against the sandbox's dockerd.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playbook_support import load_module_utils, load_plugin

release = load_plugin("release")
signal = load_module_utils("barrier_signal")

# A spec as roles/app/vars/main.yml builds it (null, lists, dicts, an int, `{`, non-ASCII and
# astral text), and its hash as the role computed it before the module did: `to_json(sort_keys=true)
# | hash('sha1')` under ansible-core 2.19. The literal must never change: every container deployed
# before would look stale once.
SPEC: dict[str, Any] = {
    "format": 2, "name": "app-web-v2", "image": "reg:5000/app:v2", "cmd": None,
    "hostname": "h1-0123456789ab", "env": {"KAMAL_VERSION": "v2", "A": "1 2", "U": "päss {x} 😀"},
    "env_file": ".kamal/apps/app/env/roles/web.env",
    "labels": {"service": "app", "role": "web", "destination": ""}, "network": "kamal",
    "volumes": ["/data:/data"], "restart_policy": "unless-stopped", "log_driver": None,
    "log_options": {"max-size": "10m"}, "docker_args": ["--memory", "1g"]}
SPEC_HASH = "eacc7b8d8f3758b2c3a3b2ed0d5c54aa63414102"

PARAMS: dict[str, Any] = {
    "name": "app-web-v2", "image": "reg:5000/app:v2", "pull": "missing", "service": "app",
    "registry": None, "spec": SPEC, "spec_label": "kdeploy.spec",
    "env_file": ".kamal/apps/app/env/roles/web.env", "env_secrets": {"SECRET": "x"},
    "hostname": "h1-0123456789ab", "env": {"KAMAL_VERSION": "v2", "A": "1 2"},
    "labels": {"service": "app", "role": "web", "destination": ""}, "network": "kamal",
    "volumes": ["/data:/data"], "restart_policy": "unless-stopped", "log_driver": None,
    "log_options": {"max-size": "10m"}, "docker_args": ["--memory", "1g"],
    "cmd": "sh -c 'sleep 1; echo \"done\"'",
    "role_labels": {"service": "app", "role": "web", "destination": ""},
    "readiness_delay": 0, "deploy_timeout": 1, "stop_timeout": 30, "log_lines": 5,
    "latest_tag": "reg:5000/app:latest", "retain_containers": 1,
    "audit": {"log": ".kamal/app-audit.log", "tags": ["me@example.com", "", "web"]},
    "docker_host": "unix:///var/run/docker.sock",
}


def test_the_spec_hash_is_the_one_the_role_computed_before() -> None:
    assert release.spec_hash(SPEC) == SPEC_HASH
    # Key order does not matter (sorted), values do.
    assert release.spec_hash(dict(reversed(list(SPEC.items())))) == SPEC_HASH
    assert release.spec_hash({**SPEC, "cmd": ""}) != SPEC_HASH


def _spec_only(**given: Any) -> dict[str, Any]:
    # The arguments as roles/app/tasks/release.yml passes them: the container's inputs in the
    # spec alone (AnsibleModule leaves an option not given at None).
    params = {**PARAMS, **dict.fromkeys(release.SPEC_OPTIONS), **given}
    return params


def test_the_containers_inputs_come_from_the_spec_unless_given() -> None:
    params = _spec_only(network="other")
    assert release.fill_from_spec(params) == []
    assert {key: params[key] for key in release.SPEC_OPTIONS} == {
        **{key: SPEC[key] for key in release.SPEC_OPTIONS}, "network": "other"}
    # The same docker run as with every option given.
    assert release.run_argv(_filled(), "/e", "abc") == release.run_argv(
        {**PARAMS, "env": SPEC["env"], "cmd": None}, "/e", "abc")


def _filled() -> dict[str, Any]:
    params = _spec_only()
    release.fill_from_spec(params)
    return params


def test_without_spec_values_the_fallbacks_apply_and_the_required_are_named() -> None:
    params = _spec_only(spec={"format": 2, "name": "app-web-v2"})
    assert release.fill_from_spec(params) == ["image", "env_file"]
    assert (params["network"], params["restart_policy"], params["env"], params["volumes"]) == (
        "kamal", "unless-stopped", {}, [])


def test_run_argv_is_kamals_docker_run_with_the_spec_label() -> None:
    argv = release.run_argv(PARAMS, "/home/u/web.env", "abc")
    assert argv[:9] == ["run", "--detach", "--restart", "unless-stopped", "--name", "app-web-v2",
                        "--network", "kamal", "--hostname"]
    assert argv[argv.index("A=1 2") - 1:argv.index("A=1 2") + 1] == ["--env", "A=1 2"]
    assert argv[argv.index("--env-file") + 1] == "/home/u/web.env"
    start = argv.index("--log-opt")
    assert argv[start:start + 4] == ["--log-opt", "max-size=10m", "--volume", "/data:/data"]
    assert "kdeploy.spec=abc" in argv and "role=web" in argv and "destination=" in argv
    # options, image, then the command split like the host's shell splits it.
    assert argv[-6:] == ["--memory", "1g", "reg:5000/app:v2", "sh", "-c", 'sleep 1; echo "done"']


def test_run_argv_takes_a_roles_restart_policy() -> None:
    # Kamal 2.12: `options: {restart: on-failure:3}` replaces `--restart unless-stopped`.
    argv = release.run_argv({**PARAMS, "restart_policy": "on-failure:3"}, "/h/web.env", "abc")
    assert argv[:4] == ["run", "--detach", "--restart", "on-failure:3"]
    assert argv.count("--restart") == 1


@pytest.mark.parametrize(("policy", "text"), [
    ({"Name": "on-failure", "MaximumRetryCount": 3}, "on-failure:3"),
    ({"Name": "on-failure", "MaximumRetryCount": 0}, "on-failure"),
    ({"Name": "unless-stopped", "MaximumRetryCount": 0}, "unless-stopped"),
    ({"Name": "no"}, "no"),
])
def test_the_diff_shows_a_restart_policy_as_docker_run_takes_it(
    policy: dict[str, Any], text: str,
) -> None:
    assert release.restart_policy_text(policy) == text


@pytest.mark.parametrize(("state", "expected"), [
    ({"Status": "running"}, "running"),
    ({"Status": "exited"}, "exited"),
    ({"Status": "running", "Health": {"Status": "starting"}}, "starting"),
    ({"Status": "running", "Health": {"Status": "unhealthy"}}, "unhealthy"),
    (None, "gone"),
])
def test_readiness_is_health_when_there_is_a_health_check(state: Any, expected: str) -> None:
    assert release.readiness({"State": state} if state else None) == expected


def _container(running: bool = True, spec: str = SPEC_HASH, image: str = "sha256:1",
               health: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Running": running, "Status": "running" if running else "exited"}
    if health:
        state["Health"] = {"Status": health}
    return {"Id": "c1", "Image": image, "State": state,
            "Config": {"Labels": {"kdeploy.spec": spec}}}


@pytest.mark.parametrize(("container", "converged"), [
    (_container(), True),
    (_container(running=False), False),
    (_container(spec="other"), False),
    (_container(image="sha256:2"), False),
    (_container(health="starting"), False),
    (_container(health="healthy"), True),
    (None, False),
])
def test_converged_needs_running_ready_same_spec_and_image(container: Any, converged: bool) -> None:
    image = {"Id": "sha256:1"}
    assert release.is_converged(container, image, "kdeploy.spec", SPEC_HASH) is converged


def test_audit_lines_are_kamals_with_empty_tags_left_out() -> None:
    # module_utils/host_files.py: the release's and the accessory's boot write the same lines.
    host_files = load_module_utils("host_files")
    line = host_files.audit_line({"tags": ["me@example.com", "", "web"]},
                                 "Booted app version v2", now=0)
    assert line == "[1970-01-01T00:00:00Z] [me@example.com] [web] Booted app version v2"
    line = host_files.audit_line({"tags": ["me@example.com", ""]}, "Booted db accessory", now=0)
    assert line == "[1970-01-01T00:00:00Z] [me@example.com] Booted db accessory"


class FakeDocker:
    """Records calls; containers and images are plain dicts keyed by name or id."""

    def __init__(self, containers: dict[str, Any], images: dict[str, Any],
                 statuses: list[str] | None = None, run_rc: int = 0) -> None:
        self.containers_by_name = containers
        self.images = images
        self.statuses = statuses or ["running"]
        self.run_rc = run_rc
        self.calls: list[tuple[str, ...]] = []
        self.listed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.image_list: list[dict[str, Any]] = []
        # What the registry holds: tag -> (digest, the image a pull of it gives), or an error.
        self.registry: dict[str, Any] = {}

    def inspect_container(self, name: str) -> Any:
        if name == "new":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return {"Id": "new", "State": {"Status": status, "Running": status == "running"}}
        return self.containers_by_name.get(name)

    def inspect_image(self, image: str) -> Any:
        return self.images.get(image)

    def pull(self, image: str, auth: Any = None) -> None:
        self.calls.append(("pull", image, str(auth)))
        if image in self.registry and not isinstance(self.registry[image], Exception):
            self.images[image] = self.registry[image][1]

    def registry_digest(self, image: str, auth: Any = None) -> str:
        self.calls.append(("GET", f"/distribution/{image}/json", str(auth)))
        if isinstance(self.registry[image], Exception):
            raise self.registry[image]
        return self.registry[image][0]

    def containers(self, labels: dict[str, str], statuses: tuple[str, ...],
                   all_states: bool = False) -> list[dict[str, Any]]:
        return self.listed.get(statuses, [])

    def call(self, method: str, url: str, params: Any = None, missing_ok: bool = False,
             body: Any = None) -> Any:
        if url == "/networks/kamal":
            return {"Name": "kamal"}
        if method == "GET" and url == "/images/json":
            return self.image_list
        self.calls.append((method, url, str(params)))
        return None

    def cli(self, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        self.calls.append(("cli", *argv[:2]))
        if argv[0] == "run":
            return self.run_rc, "new\n", "" if self.run_rc == 0 else "boom"
        if argv[0] == "logs":
            return 0, "line 1\nline 2\n", ""
        return 0, "", ""


class FakeModule:
    def __init__(self, params: dict[str, Any], check_mode: bool = False,
                 diff: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _params(**changes: Any) -> dict[str, Any]:
    return {**PARAMS, **changes}


def test_a_converged_container_is_left_alone_without_pull_or_run(home: Path) -> None:
    docker = FakeDocker({"app-web-v2": _container()}, {"reg:5000/app:v2": {"Id": "sha256:1"},
                                                       "reg:5000/app:latest": {"Id": "sha256:1"}})
    (home / ".kamal/apps/app/env/roles").mkdir(parents=True)
    env = home / ".kamal/apps/app/env/roles/web.env"
    env.write_text("SECRET=x\n")
    env.chmod(0o600)
    result = release.Release(FakeModule(PARAMS), docker).run()
    assert result["converged"] and not result["changed"] and not result["booted"]
    # Only the prune's read-and-clean calls; no pull, run, rename or stop.
    assert [call[:2] for call in docker.calls] == [("POST", "/images/prune")]
    assert not (home / ".kamal/app-audit.log").exists()


def test_a_new_version_pulls_runs_waits_stops_the_old_tags_and_prunes(home: Path) -> None:
    docker = FakeDocker({}, {})
    docker.listed[("running", "restarting")] = [{"Id": "old", "Names": ["/app-web-v1"]}]
    docker.listed[("created", "exited", "dead")] = [{"Id": "s1"}, {"Id": "s2"}]
    result = release.Release(FakeModule(_params(service=None, retain_containers=None)),
                             docker).run()
    assert result["booted"] and result["changed"] and result["container_id"] == "new"
    assert result["stopped"] == ["app-web-v1"]
    assert [c[:2] for c in docker.calls if c[0] in ("cli", "pull")] == [
        ("pull", "reg:5000/app:v2"), ("cli", "run")]
    assert ("POST", "/containers/old/stop", "{'t': 30}") in docker.calls
    assert (home / ".kamal/apps/app/env/roles/web.env").stat().st_mode & 0o777 == 0o600
    log = (home / ".kamal/app-audit.log").read_text()
    assert re.fullmatch(r"\[[0-9TZ:-]+\] \[me@example.com\] \[web\] Booted app version v2\n", log)


def test_stopped_containers_beyond_retain_are_removed(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1", "Config": {
        "Labels": {"service": "app"}}}})
    docker.listed[("created", "exited", "dead")] = [{"Id": "s1"}, {"Id": "s2"}, {"Id": "s3"}]
    result = release.Release(FakeModule(PARAMS), docker).run()
    assert result["removed"] == ["s2", "s3"]
    assert ("DELETE", "/containers/s3", "None") in docker.calls


def test_a_clashing_container_is_renamed_like_kamal(home: Path) -> None:
    docker = FakeDocker({"app-web-v2": _container(running=False)},
                        {"reg:5000/app:v2": {"Id": "sha256:1"}})
    result = release.Release(FakeModule(PARAMS), docker).run()
    assert re.fullmatch(r"app-web-v2_replaced_[0-9a-f]{16}", result["renamed"])
    assert docker.calls[0][:2] == ("POST", "/containers/c1/rename")
    assert "Renaming container v2 to v2_replaced_" in (home / ".kamal/app-audit.log").read_text()


def test_a_container_that_never_gets_ready_is_removed_with_its_log(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}}, statuses=["exited"])
    docker.listed[("running", "restarting")] = [{"Id": "old", "Names": ["/app-web-v1"]}]
    with pytest.raises(release.BootFailed, match=r"not ready after 1 seconds \(exited\)") as info:
        release.Release(FakeModule(PARAMS), docker).run()
    assert info.value.log[:2] == ["line 1", "line 2"]
    assert ("DELETE", "/containers/new", "{'force': '1'}") in docker.calls
    # The old version was not stopped.
    assert not any(call[1] == "/containers/old/stop" for call in docker.calls)


def test_a_pulled_image_without_the_service_label_is_refused(home: Path) -> None:
    docker = FakeDocker({}, {})
    docker.images["reg:5000/app:v2"] = {"Id": "sha256:1", "Config": {"Labels": {}}}
    module = FakeModule(_params(pull="always"))
    with pytest.raises(release.DockerError, match="missing the label service=app"):
        release.Release(module, docker).run()
    assert not any(call[:2] == ("cli", "run") for call in docker.calls)


def test_check_mode_changes_nothing_but_says_what_would(home: Path) -> None:
    docker = FakeDocker({}, {})
    docker.listed[("running", "restarting")] = [{"Id": "old", "Names": ["/app-web-v1"]}]
    result = release.Release(FakeModule(PARAMS, check_mode=True), docker).run()
    assert result["changed"] and result["booted"] and result["stopped"] == ["app-web-v1"]
    assert docker.calls == []
    assert not (home / ".kamal").exists()


def test_check_mode_reports_the_replace_and_the_pull_as_its_outcome(home: Path) -> None:
    docker = FakeDocker({}, {})
    docker.listed[("running", "restarting")] = [
        {"Id": "old", "Names": ["/app-web-v1"], "Image": "reg:5000/app:v1"}]
    result = release.Release(FakeModule(PARAMS, check_mode=True), docker).run()
    outcome = result["kdeploy_outcome"]
    assert outcome["changes"] == [
        {"kind": "image", "name": "reg:5000/app:v2", "action": "pull"},
        {"kind": "app", "name": "web", "action": "replace", "to": "app-web-v2",
         "image": "reg:5000/app:v2", "from": "app-web-v1"}]
    assert outcome["containers"] == {
        "before": [{"name": "app-web-v1", "image": "reg:5000/app:v1", "state": "running"}],
        "after": [{"name": "app-web-v2", "image": "reg:5000/app:v2", "state": "running"},
                  {"name": "app-web-v1", "image": "reg:5000/app:v1", "state": "exited"}]}
    assert "SECRET" not in json.dumps(outcome) and "x" * 8 not in json.dumps(outcome)


def test_a_converged_release_has_no_changes_in_its_outcome(home: Path) -> None:
    docker = FakeDocker({"app-web-v2": _container()}, {"reg:5000/app:v2": {"Id": "sha256:1"},
                                                       "reg:5000/app:latest": {"Id": "sha256:1"}})
    (home / ".kamal/apps/app/env/roles").mkdir(parents=True)
    env = home / ".kamal/apps/app/env/roles/web.env"
    env.write_text("SECRET=x\n")
    env.chmod(0o600)
    result = release.Release(FakeModule(PARAMS, check_mode=True), docker).run()
    assert result["kdeploy_outcome"]["changes"] == []
    assert [item["name"] for item in result["kdeploy_outcome"]["containers"]["after"]] == [
        "app-web-v2"]


def test_with_diff_the_outcome_lists_the_fields_that_differ(home: Path) -> None:
    docker = FakeDocker({}, {})
    docker.listed[("running", "restarting")] = [
        {"Id": "old", "Names": ["/app-web-v1"], "Image": "reg:5000/app:v1"}]
    old = _container()
    old["Config"]["Image"] = "reg:5000/app:v1"
    docker.containers_by_name["old"] = old
    result = release.Release(FakeModule(PARAMS, check_mode=True, diff=True), docker).run()
    (replace,) = [change for change in result["kdeploy_outcome"]["changes"]
                  if change["action"] == "replace"]
    fields = {field["field"]: field for field in replace["fields"]}
    assert fields["image"] == {"field": "image", "before": "reg:5000/app:v1",
                               "after": "reg:5000/app:v2"}
    assert not {"name", "running", "spec_hash"} & set(fields)
    assert "SECRET=" not in json.dumps(result["kdeploy_outcome"])


def test_a_first_boot_is_a_create(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    result = release.Release(FakeModule(_params(pull="missing"), check_mode=True), docker).run()
    assert result["kdeploy_outcome"]["changes"] == [
        {"kind": "app", "name": "web", "action": "create", "to": "app-web-v2",
         "image": "reg:5000/app:v2"}]


def test_only_unix_sockets_are_supported() -> None:
    with pytest.raises(release.DockerError, match="needs a unix:// docker_host"):
        release.Docker("tcp://1.2.3.4:2375")


def test_image_tags_no_container_uses_are_removed_except_latest(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    docker.listed[()] = [{"Id": "a", "Image": "reg:5000/app:v2"},
                         {"Id": "b", "Image": "reg:5000/app:v1"}]
    docker.image_list = [{"RepoTags": ["reg:5000/app:v2", "reg:5000/app:latest"]},
                         {"RepoTags": ["reg:5000/app:v1"]}, {"RepoTags": ["reg:5000/app:v0"]},
                         {"RepoTags": ["<none>:<none>"]}]
    release.Release(FakeModule(PARAMS), docker).run()
    deleted = [url for method, url, _ in docker.calls if method == "DELETE"]
    assert deleted == ["/images/reg:5000/app:v0"]
    assert ("POST", "/images/prune") in [call[:2] for call in docker.calls]


def test_redeploy_prunes_nothing(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    docker.listed[("created", "exited", "dead")] = [{"Id": "s1"}, {"Id": "s2"}]
    docker.image_list = [{"RepoTags": ["reg:5000/app:v0"]}]
    release.Release(FakeModule(_params(retain_containers=None)), docker).run()
    assert not [call for call in docker.calls if call[0] == "DELETE" or "prune" in call[1]]


class StoppingDocker(FakeDocker):
    """A Docker double that delivers the settle module's SIGTERM at one chosen call."""

    def __init__(self, stop: Any, at: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop, self.at = stop, at

    def _maybe_stop(self, what: str) -> None:
        if what == self.at:
            self.stop._handle(15, None)  # what the SIGTERM handler does, where it would run

    def pull(self, image: str, auth: Any = None) -> None:
        super().pull(image, auth)
        self._maybe_stop("pull")

    def inspect_container(self, name: str) -> Any:
        found = super().inspect_container(name)
        self._maybe_stop(f"inspect {name}")
        return found

    def containers(self, labels: dict[str, str], statuses: tuple[str, ...],
                   all_states: bool = False) -> list[dict[str, Any]]:
        self._maybe_stop("list")
        return super().containers(labels, statuses, all_states)

    def call(self, method: str, url: str, params: Any = None, missing_ok: bool = False,
             body: Any = None) -> Any:
        answer = super().call(method, url, params, missing_ok, body)
        self._maybe_stop(f"{method} {url}")
        return answer


def _interrupted(at: str, statuses: list[str] | None = None,
                 old: tuple[str, ...] = ("app-web-v1",), pull: str = "missing",
                 ) -> tuple[Any, StoppingDocker]:
    stop = release.StopSignal()
    image = {"Id": "sha256:1", "Config": {"Labels": {"service": "app"}}}
    docker = StoppingDocker(stop, at, {}, {"reg:5000/app:v2": image}, statuses=statuses)
    docker.listed[("running", "restarting")] = [{"Id": name, "Names": [f"/{name}"]}
                                                for name in old]
    params = _params(readiness_delay=0, deploy_timeout=30, pull=pull)
    run = release.Release(FakeModule(params), docker, stop)
    with pytest.raises(release.StopRequested):
        run.run()
    return run, docker


def test_a_stop_while_pulling_boots_nothing(home: Path) -> None:
    run, docker = _interrupted("pull", pull="always")
    assert ("pull", "reg:5000/app:v2", "None") in docker.calls
    assert not any(call[:2] == ("cli", "run") for call in docker.calls)
    note = release.interrupted_note(run)
    assert note["step"] == "pulling reg:5000/app:v2" and note["left"] == "nothing was booted"


def test_a_stop_before_the_new_version_is_ready_removes_it_and_keeps_the_old(home: Path) -> None:
    # The new container is still starting when the settle module asks the module to stop.
    run, docker = _interrupted("inspect new", statuses=["created", "created", "running"])
    assert ("DELETE", "/containers/new", "{'force': '1'}") in docker.calls
    assert not any(call[1].endswith("/stop") for call in docker.calls)
    note = release.interrupted_note(run)
    assert note["step"] == "waiting for app-web-v2 to be ready"
    assert note["left"] == "app-web-v2 was removed; the previous version keeps running"
    assert note["role"] == "web"


def test_a_stop_once_the_new_version_is_ready_leaves_both_running(home: Path) -> None:
    run, docker = _interrupted("list")
    assert not any(call[0] == "DELETE" or call[1].endswith("/stop") for call in docker.calls)
    assert release.interrupted_note(run)["left"] == (
        "app-web-v2 runs; the other versions were not stopped")


def test_a_stop_during_a_stop_lets_it_finish_and_starts_no_other(home: Path) -> None:
    run, docker = _interrupted("POST /containers/v1a/stop", old=("v1a", "v1b"))
    stops = [call[1] for call in docker.calls if call[1].endswith("/stop")]
    assert stops == ["/containers/v1a/stop"]
    assert release.interrupted_note(run)["left"] == (
        "app-web-v2 runs; the other versions were not stopped (stopped before the cut: v1a)")
    assert not any("prune" in call[1] for call in docker.calls)


def test_a_closed_answer_channel_is_a_stop_request() -> None:
    # kdeploy killed its ssh client: sshd closes the pipe the module would answer on.
    read, write = os.pipe()
    stop = release.StopSignal(output_fd=write)
    stop.check()  # someone still reads: no stop
    os.close(read)
    try:
        with pytest.raises(release.StopRequested):
            stop.sleep(5)
        assert stop.requested
    finally:
        os.close(write)


def test_pull_only_pulls_as_a_boot_would_and_changes_nothing_else(home: Path) -> None:
    docker = FakeDocker({"app-web-v1": _container()}, {})
    docker.registry["reg:5000/app:v2"] = ("sha256:d", {"Id": "sha256:2", "Config": {
        "Labels": {"service": "app"}}})
    result = release.Release(FakeModule(_params(pull="always", pull_only=True)), docker).run()
    assert result["changed"] and not result["booted"] and result["container_id"] is None
    assert [call[:2] for call in docker.calls] == [("pull", "reg:5000/app:v2")]
    assert not (home / ".kamal").exists()  # no env file, no audit line


@pytest.mark.parametrize(("pull", "images", "pulls"), [
    ("missing", {"reg:5000/app:v2": {"Id": "sha256:2"}}, []),
    ("always", {"reg:5000/app:v2": {"Id": "sha256:2"}}, [("pull", "reg:5000/app:v2")]),
])
def test_pull_only_follows_the_pull_option_and_reports_an_unchanged_image(
    home: Path, pull: str, images: dict[str, Any], pulls: list[tuple[str, str]],
) -> None:
    docker = FakeDocker({}, images)
    docker.registry["reg:5000/app:v2"] = ("sha256:d", {"Id": "sha256:2", "Config": {
        "Labels": {"service": "app"}}})
    result = release.Release(FakeModule(_params(pull=pull, pull_only=True)), docker).run()
    assert not result["changed"]
    assert [call[:2] for call in docker.calls] == pulls


def test_pull_only_in_check_mode_pulls_nothing(home: Path) -> None:
    docker = FakeDocker({}, {})
    result = release.Release(FakeModule(_params(pull="always", pull_only=True), check_mode=True),
                             docker).run()
    assert not result["changed"] and docker.calls == []


def test_after_pull_only_the_boot_pulls_no_more_and_still_reports_the_pull(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:2", "Config": {
        "Labels": {"service": "app"}}}})
    result = release.Release(FakeModule(_params(pull="always", prefetched="same")), docker).run()
    assert result["booted"]
    assert [c[:2] for c in docker.calls if c[0] in ("cli", "pull")] == [("cli", "run")]
    assert {"kind": "image", "name": "reg:5000/app:v2", "action": "pull"} in (
        result["kdeploy_outcome"]["changes"])


@pytest.mark.parametrize("prefetched", ["new", "same"])
def test_a_converged_release_after_a_pull_only_reports_a_new_image(home: Path,
                                                                    prefetched: str) -> None:
    # The prefetch pulled a new image, yet the container already runs the image the tag names.
    docker = FakeDocker({"app-web-v2": _container()}, {"reg:5000/app:v2": {"Id": "sha256:1"},
                                                       "reg:5000/app:latest": {"Id": "sha256:1"}})
    (home / ".kamal/apps/app/env/roles").mkdir(parents=True)
    env = home / ".kamal/apps/app/env/roles/web.env"
    env.write_text("SECRET=x\n")
    env.chmod(0o600)
    result = release.Release(FakeModule(_params(pull="always", prefetched=prefetched)),
                             docker).run()
    assert result["converged"] and not result["booted"]
    assert result["changed"] is (prefetched == "new")
    pulls = [change for change in result["kdeploy_outcome"]["changes"] if change["kind"] == "image"]
    assert pulls == ([{"kind": "image", "name": "reg:5000/app:v2", "action": "pull"}]
                     if prefetched == "new" else [])
    # Prefetched either way: no pull, and the registry is not asked whether the tag moved.
    assert not [call for call in docker.calls
                if call[0] == "pull" or call[1].startswith("/distribution/")]


GO_FILE = ".kdeploy/barrier/run-go-host"
READY_FILE = ".kdeploy/barrier/run-ready-host"


def _registry_v2(docker: FakeDocker) -> FakeDocker:
    docker.registry["reg:5000/app:v2"] = ("sha256:d", {"Id": "sha256:2", "Config": {
        "Labels": {"service": "app"}}})
    return docker


def test_at_the_barrier_a_release_pulls_waits_for_open_and_boots_without_pulling_again(
        home: Path) -> None:
    docker = _registry_v2(FakeDocker({}, {}))
    signal.write_signal(str(home / GO_FILE), "open")
    result = release.Release(FakeModule(_params(pull="always", barrier_go_file=GO_FILE,
                                                barrier_go_timeout=5)), docker).run()
    assert result["barrier"] == "open" and result["booted"] and result["changed"]
    assert [c[:2] for c in docker.calls if c[0] in ("cli", "pull")] == [
        ("pull", "reg:5000/app:v2"), ("cli", "run")]
    assert {"kind": "image", "name": "reg:5000/app:v2", "action": "pull"} in (
        result["kdeploy_outcome"]["changes"])
    assert not (home / GO_FILE).exists()


@pytest.mark.parametrize(("written", "barrier"), [("closed", "closed"), (None, "waiting")])
def test_a_closed_barrier_or_a_wait_run_out_leaves_the_host_as_the_pull_left_it(
        home: Path, written: str | None, barrier: str) -> None:
    docker = _registry_v2(FakeDocker({}, {}))
    if written:
        signal.write_signal(str(home / GO_FILE), written)
    result = release.Release(FakeModule(_params(pull="always", barrier_go_file=GO_FILE,
                                                barrier_go_timeout=0)), docker).run()
    assert result["barrier"] == barrier and not result["booted"]
    assert result["changed"]  # the image is new
    assert [c[:2] for c in docker.calls] == [("pull", "reg:5000/app:v2")]
    assert not (home / ".kamal").exists()  # no env file, no audit line


def test_a_wait_at_the_barrier_is_cut_by_a_stop_with_nothing_booted(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:2"}})
    stop = release.StopSignal()

    def sleep(seconds: float) -> None:
        raise release.StopRequested("stop requested")

    stop.sleep = sleep  # type: ignore[method-assign]
    run = release.Release(FakeModule(_params(barrier_go_file=GO_FILE, barrier_go_timeout=60)),
                          docker, stop)
    with pytest.raises(release.StopRequested):
        run.run()
    assert release.interrupted_note(run)["step"] == "waiting at the role barrier"
    assert release.interrupted_note(run)["left"] == "nothing was booted"
    assert docker.calls == []


class StopWatchingDocker(FakeDocker):
    """Records what the ready file held when the first other version was stopped."""

    def __init__(self, home: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ready_at_stop: list[str | None] = []
        self.ready = home / READY_FILE

    def call(self, method: str, url: str, params: Any = None, missing_ok: bool = False,
             body: Any = None) -> Any:
        if url.endswith("/stop"):
            self.ready_at_stop.append(signal.read_signal(str(self.ready)))
        return super().call(method, url, params, missing_ok, body)


def test_a_ready_release_signals_open_before_it_stops_the_other_versions(home: Path) -> None:
    docker = StopWatchingDocker(home, {}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    docker.listed[("running", "restarting")] = [{"Id": "old", "Names": ["/app-web-v1"]}]
    run = release.Release(FakeModule(_params(barrier_ready_file=READY_FILE)), docker)
    assert run.run()["booted"]
    assert docker.ready_at_stop == ["open"]
    run.signal_ready("closed")  # the module's end: written once, so open stays
    assert signal.read_signal(str(home / READY_FILE)) == "open"


def test_a_release_that_never_gets_ready_signals_closed_at_its_end(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}}, statuses=["exited"])
    run = release.Release(FakeModule(_params(barrier_ready_file=READY_FILE)), docker)
    with pytest.raises(release.BootFailed):
        run.run()
    assert not (home / READY_FILE).exists()
    run.signal_ready("closed")
    assert signal.read_signal(str(home / READY_FILE)) == "closed"


def test_in_check_mode_no_signal_is_written_or_awaited(home: Path) -> None:
    docker = FakeDocker({}, {"reg:5000/app:v2": {"Id": "sha256:1"}})
    run = release.Release(FakeModule(_params(barrier_ready_file=READY_FILE,
                                             barrier_go_file=GO_FILE, barrier_go_timeout=60),
                                     check_mode=True), docker)
    assert run.run()["booted"]
    run.signal_ready("closed")
    assert not (home / ".kdeploy").exists()
