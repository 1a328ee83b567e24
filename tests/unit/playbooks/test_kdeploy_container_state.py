"""container_state's parts (plugins/module_utils/container_prep.py), function by function."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from playbook_support import load_module_utils

state = load_module_utils("container_prep")


@pytest.mark.parametrize(("path", "expected"), [
    (".kamal/apps/app/env/roles/web.env", "/home/u/.kamal/apps/app/env/roles/web.env"),
    ("~/data", "/home/u/data"),
    ("/srv/data", "/srv/data"),
])
def test_relative_paths_live_under_home(path: str, expected: str) -> None:
    assert state.resolve("/home/u", path) == expected


def test_env_file_is_written_0600_in_a_new_directory(tmp_path: Path) -> None:
    path = tmp_path / "env" / "roles" / "web.env"
    assert state.ensure_env_file(str(path), "SECRET=x\n", check_mode=False) is True
    assert path.read_text() == "SECRET=x\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755 & ~_umask()
    assert state.ensure_env_file(str(path), "SECRET=x\n", check_mode=False) is False
    assert [entry.name for entry in path.parent.iterdir()] == ["web.env"]


def test_env_file_with_other_content_or_mode_is_changed(tmp_path: Path) -> None:
    path = tmp_path / "web.env"
    path.write_text("SECRET=old\n")
    path.chmod(0o600)
    assert state.ensure_env_file(str(path), "SECRET=new\n", check_mode=False) is True
    assert path.read_text() == "SECRET=new\n"
    path.chmod(0o644)
    assert state.ensure_env_file(str(path), "SECRET=new\n", check_mode=False) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_check_mode_reports_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "env" / "web.env"
    assert state.ensure_env_file(str(path), "A=1\n", check_mode=True) is True
    assert not path.parent.exists()
    directory = tmp_path / "data"
    assert state.ensure_directory(str(directory), "0700", None, check_mode=True) is True
    assert not directory.exists()


def test_directory_is_created_then_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "app-db" / "data"
    assert state.ensure_directory(str(directory), None, None, check_mode=False) is True
    assert directory.is_dir()
    assert state.ensure_directory(str(directory), None, None, check_mode=False) is False
    assert state.ensure_directory(str(directory), "0700", None, check_mode=False) is True
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert state.ensure_directory(str(directory), "0700", None, check_mode=False) is False


def _container(running: bool = True, restarting: bool = False, spec: str | None = "h1",
               image: str = "sha256:a", health: str | None = None) -> dict[str, Any]:
    labels = {"service": "app"} | ({"kdeploy.spec": spec} if spec else {})
    container_state = {"Running": running, "Restarting": restarting}
    if health:
        container_state["Health"] = {"Status": health}
    return {"State": container_state, "Image": image, "Config": {"Labels": labels}}


@pytest.mark.parametrize(("container", "image_id", "expected"), [
    (None, "sha256:a", {"exists": False, "running": False, "converged": False}),
    (_container(), "sha256:a", {"exists": True, "running": True, "converged": True}),
    (_container(), True, {"exists": True, "running": True, "converged": True}),
    (_container(running=False), "sha256:a", {"exists": True, "running": False, "converged": False}),
    (_container(restarting=True), "sha256:a", {"running": False, "converged": False}),
    (_container(health="healthy"), "sha256:a", {"running": True, "converged": True}),
    (_container(health="starting"), "sha256:a", {"running": False, "converged": False}),
    (_container(health="unhealthy"), "sha256:a", {"running": False, "converged": False}),
    (_container(spec="other"), "sha256:a", {"spec": "other", "converged": False}),
    (_container(spec=None), "sha256:a", {"spec": None, "converged": False}),
    (_container(), "sha256:b", {"image_matches": False, "converged": False}),
    (_container(), None, {"image_matches": False, "converged": False}),
])
def test_container_is_converged_only_when_running_with_the_same_spec_and_image(
    container: dict[str, Any] | None, image_id: object, expected: dict[str, Any],
) -> None:
    result = state.container_state(container, image_id, "kdeploy.spec", "h1")
    assert {key: result[key] for key in expected} == expected


def test_spec_fields_label_is_returned_for_naming_differences() -> None:
    container = _container()
    container["Config"]["Labels"]["kdeploy.spec.fields"] = '{"image": "x"}'
    assert state.container_state(container, "sha256:a", "kdeploy.spec", "h1")["spec_fields"] == (
        '{"image": "x"}')
    assert state.container_state(_container(), "sha256:a", "kdeploy.spec", "h1")[
        "spec_fields"] is None
    assert state.container_state(None, "sha256:a", "kdeploy.spec", "h1")["spec_fields"] is None


def test_other_containers_leave_out_the_named_one() -> None:
    listed = [{"Id": "1", "Names": ["/app-web-v1"]}, {"Id": "2", "Names": ["/app-web-v0"]}]
    assert state.other_containers(listed, "app-web-v1") == [{"id": "2", "name": "app-web-v0"}]


def test_label_filter_selects_running_containers_with_every_label() -> None:
    assert json.loads(state.label_filter({"service": "app", "role": "web", "destination": ""})) == {
        "label": ["destination=", "role=web", "service=app"],
        "status": ["running", "restarting"],
    }


class FakeClient:
    """Answers the three Docker API reads the module makes."""

    def __init__(self, container: dict[str, Any] | None, image: dict[str, Any] | None,
                 listed: list[dict[str, Any]]) -> None:
        self.container, self.image, self.listed = container, image, listed
        self.calls: list[tuple[str, Any]] = []

    def get_json(self, path: str, *args: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append((path, args or params))
        answer = {"/containers/{0}/json": self.container, "/images/{0}/json": self.image,
                  "/containers/json": self.listed}[path]
        if answer is None:
            raise state.DockerNotFound("missing")
        return answer


def test_read_docker_treats_missing_container_and_image_as_none() -> None:
    client = FakeClient(None, None, [])
    params = {"name": "app-web-v1", "image": "r/app:v1", "others": {"service": "app"}}
    assert state.read_docker(client, params) == (None, None, [])
    assert [path for path, _ in client.calls] == [
        "/containers/{0}/json", "/images/{0}/json", "/containers/json"]


def test_read_docker_skips_what_was_not_asked() -> None:
    client = FakeClient(_container(), {"Id": "sha256:a"}, [])
    params = {"name": "app-db", "image": None, "others": None}
    assert state.read_docker(client, params) == (_container(), True, [])
    assert [path for path, _ in client.calls] == ["/containers/{0}/json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _docker_config(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize(("config", "server", "stored"), [
    ({"auths": {"10.0.0.1:5000": {"auth": "dTpw"}}}, "10.0.0.1:5000", True),  # b64("u:p")
    ({"auths": {"https://10.0.0.1:5000": {"auth": "dTpw"}}}, "10.0.0.1:5000", True),
    ({"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}}}, None, True),
    ({"auths": {"10.0.0.1:5000": {"auth": "dTpvbGQ="}}}, "10.0.0.1:5000", False),  # u:old
    ({"auths": {"10.0.0.2:5000": {"auth": "dTpw"}}}, "10.0.0.1:5000", False),
    ({"auths": {"10.0.0.1:5000": {"auth": "dTpw"}}, "credsStore": "pass"}, "10.0.0.1:5000", False),
    ({"auths": {"10.0.0.1:5000": {"auth": "dTpw"}},
      "credHelpers": {"10.0.0.1:5000": "ecr-login"}}, "10.0.0.1:5000", False),
    ({}, "10.0.0.1:5000", False),
])
def test_registry_credentials_count_as_stored_only_when_equal_in_the_file_store(
    tmp_path: Path, config: dict[str, Any], server: str | None, stored: bool,
) -> None:
    path = _docker_config(tmp_path, config)
    assert state.registry_stored(path, server, "u", "p") is stored


def test_missing_or_broken_docker_config_means_not_stored(tmp_path: Path) -> None:
    assert state.registry_stored(str(tmp_path / "none.json"), "r", "u", "p") is False
    (tmp_path / "broken.json").write_text("{")
    assert state.registry_stored(str(tmp_path / "broken.json"), "r", "u", "p") is False


def test_env_changed_keys_name_the_added_changed_and_removed_secrets_only(tmp_path: Path) -> None:
    path = tmp_path / "db.env"
    path.write_text("KEEP=same\nPASSWORD=old-secret\nGONE=x\n")
    content = state.render({"KEEP": "same", "PASSWORD": "new-secret", "ADDED": "y"})
    changed = state.env_changed_keys(str(path), content)
    assert changed == ["ADDED", "GONE", "PASSWORD"]
    assert not any("secret" in key for key in changed)
    assert state.env_changed_keys(str(tmp_path / "missing.env"), content) == [
        "ADDED", "KEEP", "PASSWORD"]
    assert state.env_changed_keys(str(path), path.read_text()) == []


def test_only_the_asked_clear_env_keys_are_read_back() -> None:
    # The container's env also holds the env file's secrets: only the named keys come back.
    container = {"Config": {"Env": ["MODE=old", "DB_PASSWORD=s3cret", "URL=a=b", "PATH=/bin"]}}
    assert state.container_env(container, ["MODE", "URL", "GONE"]) == {
        "MODE": "old", "URL": "a=b", "GONE": None}
    assert state.container_env(container, []) == {}
    assert state.container_env(None, ["MODE"]) == {}


@pytest.mark.parametrize(("network", "container", "needed"), [
    ("kamal", None, True),  # a first boot: Kamal's `docker network create kamal` comes first
    ("kamal", {"Id": "c1"}, False),  # an existing container is left as it is, network and all
    (None, None, False),  # not asked for
])
def test_the_network_is_ensured_only_before_a_first_boot(
        network: str | None, container: dict[str, Any] | None, needed: bool) -> None:
    assert state.needs_network({"network": network}, container) is needed
