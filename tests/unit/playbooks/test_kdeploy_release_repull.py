"""A converged release under `pull: always` (deploy, redeploy, setup) asks the registry whether
the tag moved: one request to the daemon (it reads the tag's manifest), a pull and a replace
only when it did.

The Docker double is test_kdeploy_release.py's; test_kdeploy_docker_api.py checks the request
itself, and tests/e2e/test_deploy_repull.py re-pushes a tag in the sandbox's registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playbook_support import load_plugin
from test_kdeploy_release import PARAMS, FakeDocker, FakeModule, _container

release = load_plugin("release")

IMAGE = "reg:5000/app:v2"
OLD = {"Id": "sha256:1", "RepoDigests": ["reg:5000/app@sha256:d1"],
       "Config": {"Labels": {"service": "app"}}}
NEW = {"Id": "sha256:2", "RepoDigests": ["reg:5000/app@sha256:d2"],
       "Config": {"Labels": {"service": "app"}}}
REGISTRY = {"server": "reg:5000", "username": "deployer", "password": "s3cret-pw"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    # The env file as the running container's release wrote it: converged.
    (tmp_path / ".kamal/apps/app/env/roles").mkdir(parents=True)
    env = tmp_path / ".kamal/apps/app/env/roles/web.env"
    env.write_text("SECRET=x\n")
    env.chmod(0o600)
    return tmp_path


def _docker(registry: Any) -> FakeDocker:
    """v2 runs converged on the local image OLD; the registry's tag holds `registry`."""
    docker = FakeDocker({"app-web-v2": _container()}, {IMAGE: dict(OLD),
                                                       "reg:5000/app:latest": {"Id": "sha256:1"}})
    docker.registry[IMAGE] = registry
    return docker


def _run(docker: FakeDocker, check_mode: bool = False, **params: Any) -> dict[str, Any]:
    module = FakeModule({**PARAMS, "pull": "always", **params}, check_mode=check_mode)
    return release.Release(module, docker).run()


def _registry_calls(docker: FakeDocker) -> list[tuple[str, ...]]:
    return [call[:2] for call in docker.calls if call[0] == "pull" or "/distribution/" in call[1]]


def test_a_tag_that_did_not_move_costs_one_manifest_request_and_nothing_else(home: Path) -> None:
    docker = _docker(("sha256:d1", NEW))
    result = _run(docker, registry=REGISTRY)
    assert result["converged"] and not result["changed"] and not result["booted"]
    assert result["container_id"] == "c1"
    assert _registry_calls(docker) == [("GET", f"/distribution/{IMAGE}/json")]
    assert not any(call[0] == "cli" for call in docker.calls)  # no login, no run
    # The module's registry credentials go to the daemon, as for a pull.
    assert "'username': 'deployer'" in docker.calls[0][2]
    assert "'serveraddress': 'reg:5000'" in docker.calls[0][2]
    assert result["kdeploy_outcome"]["changes"] == []
    assert not (home / ".kamal/app-audit.log").exists()


def test_a_moved_tag_is_pulled_once_and_its_image_replaces_the_container(home: Path) -> None:
    docker = _docker(("sha256:d2", NEW))
    result = _run(docker)
    assert not result["converged"] and result["changed"] and result["booted"]
    assert _registry_calls(docker) == [("GET", f"/distribution/{IMAGE}/json"), ("pull", IMAGE)]
    # Kamal's same-name replace: the old container is renamed, the new one runs, then the old
    # one (listed as running under its new name) is stopped.
    assert result["renamed"].startswith("app-web-v2_replaced_")
    assert ("POST", "/containers/c1/rename") in [call[:2] for call in docker.calls]
    assert ("cli", "run") in [call[:2] for call in docker.calls]
    assert result["container_id"] == "new"
    assert "Booted app version v2" in (home / ".kamal/app-audit.log").read_text()
    assert result["kdeploy_outcome"]["changes"] == [
        {"kind": "image", "name": IMAGE, "action": "pull"},
        {"kind": "app", "name": "web", "action": "replace", "to": "app-web-v2", "image": IMAGE,
         "from": "app-web-v2"}]
    # latest follows the new image.
    assert ("POST", f"/images/{IMAGE}/tag") in [call[:2] for call in docker.calls]


def test_a_moved_tag_that_pulls_the_same_image_leaves_the_container_alone(home: Path) -> None:
    # A local image without RepoDigests (loaded, or built on the host) cannot be compared: it is
    # pulled, and the same image ID keeps the container converged.
    docker = _docker(("sha256:d1", {**OLD, "RepoDigests": ["reg:5000/app@sha256:d1"]}))
    docker.images[IMAGE] = {**OLD, "RepoDigests": []}
    result = _run(docker)
    assert result["converged"] and not result["booted"] and not result["changed"]
    assert _registry_calls(docker) == [("GET", f"/distribution/{IMAGE}/json"), ("pull", IMAGE)]
    assert not any(call[:2] == ("cli", "run") for call in docker.calls)


def test_a_registry_that_cannot_answer_fails_the_release_as_a_pull_would(home: Path) -> None:
    error = release.DockerError("cannot read the registry's digest of reg:5000/app:v2: "
                                "Get \"https://reg:5000/v2/\": connection refused", 500)
    docker = _docker(error)
    with pytest.raises(release.DockerError, match="registry's digest of reg:5000/app:v2"):
        _run(docker)
    assert _registry_calls(docker) == [("GET", f"/distribution/{IMAGE}/json")]
    assert not any(call[0] == "cli" or call[0] == "POST" for call in docker.calls)


@pytest.mark.parametrize("moved", [True, False])
def test_pull_missing_never_asks_the_registry(home: Path, moved: bool) -> None:
    # rollback and app boot: Kamal pulls only a missing image, so a converged one stays.
    docker = _docker(("sha256:d2" if moved else "sha256:d1", NEW))
    result = _run(docker, pull="missing")
    assert result["converged"] and not result["changed"]
    assert _registry_calls(docker) == []


def test_check_mode_reports_the_pull_and_the_replace_with_only_a_get(home: Path) -> None:
    docker = _docker(("sha256:d2", NEW))
    result = _run(docker, check_mode=True)
    assert result["changed"] and result["booted"] and not result["converged"]
    assert docker.calls == [("GET", f"/distribution/{IMAGE}/json", "None")]
    assert docker.images[IMAGE]["Id"] == "sha256:1"
    assert result["kdeploy_outcome"]["changes"] == [
        {"kind": "image", "name": IMAGE, "action": "pull"},
        {"kind": "app", "name": "web", "action": "replace", "to": "app-web-v2", "image": IMAGE,
         "from": "app-web-v2"}]


def test_check_mode_with_a_tag_that_did_not_move_reports_nothing(home: Path) -> None:
    docker = _docker(("sha256:d1", NEW))
    result = _run(docker, check_mode=True)
    assert result["converged"] and not result["changed"]
    assert result["kdeploy_outcome"]["changes"] == []
    assert docker.calls == [("GET", f"/distribution/{IMAGE}/json", "None")]


class StoppingRegistry(FakeDocker):
    """A registry request cut by the settle module's SIGTERM."""

    def __init__(self, stop: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop = stop

    def registry_digest(self, image: str, auth: Any = None) -> str:
        digest = super().registry_digest(image, auth)
        self.stop._handle(15, None)  # what the SIGTERM handler does, where it would run
        return digest


def test_a_stop_while_asking_the_registry_boots_nothing(home: Path) -> None:
    stop = release.StopSignal()
    docker = StoppingRegistry(stop, {"app-web-v2": _container()}, {IMAGE: dict(OLD)})
    docker.registry[IMAGE] = ("sha256:d2", NEW)
    run = release.Release(FakeModule({**PARAMS, "pull": "always"}), docker, stop)
    with pytest.raises(release.StopRequested):
        run.run()
    assert _registry_calls(docker) == [("GET", f"/distribution/{IMAGE}/json")]
    note = release.interrupted_note(run)
    assert note["step"] == f"asking the registry for {IMAGE}"
    assert note["left"] == "nothing was booted"


def test_repo_digests_are_the_digests_of_every_repository() -> None:
    image = {"RepoDigests": ["reg:5000/app@sha256:a", "mirror/app@sha256:b"]}
    assert release.repo_digests(image) == {"sha256:a", "sha256:b"}
    assert release.repo_digests({"RepoDigests": None}) == set()
    assert release.repo_digests(None) == set()

