"""The CI recipes of examples/ci run for real: their own shell steps against the sandbox.

Each recipe's lint, plan and deploy jobs are read from the YAML file (`ci_recipes`) and run in a
project whose `.kamal/secrets` is examples/ci/secrets and whose config names no ssh key: the
recipe's ssh-agent must provide the deploy key, and its pinned known_hosts lines (the sandbox
hosts' entries are removed first) must let ssh in with `StrictHostKeyChecking yes`. The CI's
variables (the key, the known_hosts lines, the secrets, the commit) come through the
environment, as a CI passes them. ssh's ~/.ssh files are restored afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import pytest
from app_state import assert_runs
from ci_recipes import (
    EXAMPLES,
    JobRun,
    Recipe,
    load,
    run_job,
    runner_env,
)
from event_schema import validate_events
from project import Project, app_container, example_config, snapshot

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE
from kdeploy.sandbox.hosts import host_key_file
from kdeploy.sandbox.known_hosts import public_key, user_known_hosts

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

DATABASE_PASSWORD = "ci-recipe-db-secret-4c1d"
REGISTRY_PASSWORD = "ci-recipe-registry-secret-9e2b"


@pytest.fixture
def ssh_files() -> Iterator[Path]:
    """ssh's ~/.ssh (from the password database), known_hosts and config restored after."""
    known_hosts = user_known_hosts()
    files = [known_hosts, known_hosts.parent / "config"]
    before = {path: path.read_bytes() if path.exists() else None for path in files}
    yield known_hosts
    for path, content in before.items():
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)


@pytest.fixture
def project(clean_sandbox: SandboxInfo, tmp_path: Path) -> Project:
    """The example without its accessory, no ssh key named, a secret env var, CI's secrets."""
    config = example_config(clean_sandbox)
    config.pop("accessories")
    config["ssh"] = {"user": "root"}
    config["env"] = {"secret": ["DATABASE_PASSWORD"]}
    project = Project.write(tmp_path / "checkout", config)
    shutil.copyfile(EXAMPLES / "secrets", project.directory / ".kamal" / "secrets")
    return project


@pytest.fixture
def lock_holder(clean_sandbox: SandboxInfo, tmp_path: Path) -> Iterator[Project]:
    """The same service from another checkout with the sandbox key: someone at a terminal."""
    config = example_config(clean_sandbox)
    config.pop("accessories")
    holder = Project.write(tmp_path / "ops", config)
    yield holder
    holder.kdeploy("lock", "release", "--version", "v1")


class Runner:
    """Runs one recipe's jobs in the project as its CI would, with fresh ssh state per job."""

    def __init__(self, recipe: Recipe, project: Project, info: SandboxInfo,
                 known_hosts: Path) -> None:
        self.recipe = recipe
        self.project = project
        self.info = info
        self.known_hosts = known_hosts
        self.ssh_config = known_hosts.parent / "config"
        self.ssh_config_before = (self.ssh_config.read_bytes() if self.ssh_config.exists()
                                  else None)
        key = info.key_path.read_text()
        known = "\n".join(f"{host.address} {public_key(host_key_file(host.directory))}"
                          for host in info.hosts)
        self.values = {"DEPLOY_SSH_KEY": key, "SSH_KNOWN_HOSTS": known,
                       "KAMAL_REGISTRY_PASSWORD": REGISTRY_PASSWORD,
                       "DATABASE_PASSWORD": DATABASE_PASSWORD}

    def given(self, sha: str) -> dict[str, str]:
        if self.recipe.kind == "gitlab":
            return {**self.values, "CI_COMMIT_SHA": sha}
        return {"github.sha": sha, "vars.SSH_KNOWN_HOSTS": self.values["SSH_KNOWN_HOSTS"],
                **{f"secrets.{name}": value for name, value in self.values.items()
                   if name != "SSH_KNOWN_HOSTS"}}

    def run(self, job: str, sha: str = "v1") -> JobRun:
        self.fresh_ssh()
        for artifact in ("plan.jsonl", "plan-summary.json", "deploy.jsonl",
                         "deploy-summary.json"):
            (self.project.directory / artifact).unlink(missing_ok=True)
        # Fresh ssh control sockets: no connection an earlier run opened with the sandbox key
        # is reused, so each job's ssh must authenticate through the recipe's agent. A TMPDIR
        # of its own shows whether the job stopped its agent (the socket is gone).
        control = Path(tempfile.mkdtemp(prefix="kd-cp-"))  # short: sockets have 108 bytes
        tmpdir = Path(tempfile.mkdtemp(prefix="kd-ci-"))
        try:
            env = runner_env(Path(sys.executable).parent, CI="true", TMPDIR=str(tmpdir),
                             ANSIBLE_SSH_CONTROL_PATH_DIR=str(control))
            finished = run_job(self.recipe, job, self.project.directory, env, self.given(sha))
            agents = [str(path) for path in tmpdir.rglob("agent.*")]
            assert agents == [], f"the {job} job left its ssh agent running: {agents}"
        finally:
            shutil.rmtree(control, ignore_errors=True)
            shutil.rmtree(tmpdir, ignore_errors=True)
        for secret in (DATABASE_PASSWORD, REGISTRY_PASSWORD, "PRIVATE KEY"):
            assert secret not in finished.output, finished
        return finished

    def fresh_ssh(self) -> None:
        """~/.ssh as a new runner has it: no sandbox host known, the config as before the test.

        Each job appends to both files, as a CI job on a fresh runner does.
        """
        self.ssh_config.unlink(missing_ok=True)
        if self.ssh_config_before is not None:
            self.ssh_config.write_bytes(self.ssh_config_before)
        for host in self.info.hosts:
            forget(self.known_hosts, host.address)

    def artifact(self, name: str) -> str:
        text = (self.project.directory / name).read_text()
        for secret in (DATABASE_PASSWORD, REGISTRY_PASSWORD):
            assert secret not in text, name
        return text


def events_and_summary(runner: Runner, stream: str, summary: str) -> tuple[list[dict[str, Any]],
                                                                           dict[str, Any]]:
    """The events of an artifact stream (each valid) and its summary artifact (= the last)."""
    events = validate_events(runner.artifact(stream).splitlines())
    kept = json.loads(runner.artifact(summary))
    assert kept == events[-1]
    return events, kept


def container_env(info: SandboxInfo, index: int, name: str) -> list[str]:
    """The environment a container on host `index` runs with."""
    printed = helpers.ssh(info, index, "docker inspect -f "
                          "'{{range .Config.Env}}{{println .}}{{end}}' " + name).stdout
    return printed.splitlines()


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_recipe_lints_plans_and_deploys_the_sandbox(
        kind: str, clean_sandbox: SandboxInfo, project: Project, lock_holder: Project,
        ssh_files: Path, tmp_path: Path) -> None:
    info = clean_sandbox
    runner = Runner(load(kind), project, info, ssh_files)  # type: ignore[arg-type]

    # The lint job is a gate: a config error fails it with the key and exit 2...
    project.config["servers"]["web"]["bogus_key"] = True
    project.save()
    broken = runner.run("lint")
    assert broken.returncode == 2, broken
    assert "servers/web: unknown key: bogus_key" in broken.output, broken
    del project.config["servers"]["web"]["bogus_key"]
    project.save()
    # ...and passes the config as it is.
    lint = runner.run("lint")
    assert lint.returncode == 0, lint

    plan = runner.run("plan")
    assert plan.returncode == 0, plan
    assert "Changes pending" in plan.output, plan
    _, summary = events_and_summary(runner, "plan.jsonl", "plan-summary.json")
    assert (summary["type"], summary["exit_code"], summary["check"]) == ("summary", 4, True)
    assert summary["pending_changes"] is True
    for role, index in (("web", 1), ("web", 2), ("job", 3)):
        pending = summary["hosts"][info.host(index).address]["pending"]
        # The plan runs with --diff: a create may list its fields too.
        (create,) = [change for change in pending if change["kind"] == "app"]
        assert {key: create[key] for key in ("name", "action", "to", "image")} == {
            "name": role, "action": "create", "to": app_container(role),
            "image": f"{info.registry}/{SERVICE}:v1"}, pending
    assert snapshot(info) == {}  # the plan changed nothing

    deploy = runner.run("deploy")
    assert deploy.returncode == 0, deploy
    events, summary = events_and_summary(runner, "deploy.jsonl", "deploy-summary.json")
    assert events[0]["type"] == "run_start" and events[0]["version"] == "v1"
    assert (summary["type"], summary["exit_code"], summary["lock_held"]) == ("summary", 0, False)
    assert_runs(info, "v1")
    # The secret went from the CI variable through .kamal/secrets into the app's environment.
    assert f"DATABASE_PASSWORD={DATABASE_PASSWORD}" in container_env(
        info, 1, app_container("web"))

    again = runner.run("plan")
    assert again.returncode == 0, again
    assert "No changes pending" in again.output, again
    _, summary = events_and_summary(runner, "plan.jsonl", "plan-summary.json")
    assert (summary["exit_code"], summary["pending_changes"]) == (0, False)
    assert {host["pending"] == [] for host in summary["hosts"].values()} == {True}

    # Someone holds the lock by hand: the deploy job exits 3 at once (a manual lock is not
    # waited for), says why, and keeps the summary naming the holder.
    taken = lock_holder.kdeploy("lock", "acquire", "-m", "maintenance", "--version", "v1")
    assert taken.returncode == 0, taken
    held = runner.run("deploy", sha="v2")
    assert held.returncode == 3, held
    assert "the deploy lock is held, nothing was deployed" in held.output, held
    _, summary = events_and_summary(runner, "deploy.jsonl", "deploy-summary.json")
    assert (summary["exit_code"], summary["lock_held"]) == (3, True)
    assert summary["error"]["kind"] == "lock_manual"
    assert summary["lock"]["message"] == "maintenance"
    assert_runs(info, "v1")

    released = lock_holder.kdeploy("lock", "release", "--version", "v1")
    assert released.returncode == 0, released

    # The ssh key is the agent's: another key in DEPLOY_SSH_KEY gets nowhere.
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    runner.values["DEPLOY_SSH_KEY"] = stranger.read_text()
    refused = runner.run("deploy", sha="v2")
    assert refused.returncode == 1, refused
    assert "authentication failed" in refused.output, refused
    runner.values["DEPLOY_SSH_KEY"] = info.key_path.read_text()
    # The host keys are pinned strictly: a host whose key is not listed is refused, not learned.
    lock_host = info.host(1).address
    runner.values["SSH_KNOWN_HOSTS"] = "\n".join(
        line for line in runner.values["SSH_KNOWN_HOSTS"].splitlines()
        if not line.startswith(f"{lock_host} "))
    unpinned = runner.run("deploy", sha="v2")
    assert unpinned.returncode == 1, unpinned
    assert f"{lock_host} unreachable at " in unpinned.output, unpinned
    assert "unknown host key refused" in unpinned.output, unpinned
    assert recorded(ssh_files, lock_host) == ""
    assert_runs(info, "v1")


def recorded(known_hosts: Path, host: str) -> str:
    """What known_hosts holds for `host` (`ssh-keygen -F`; empty when nothing)."""
    return subprocess.run(["ssh-keygen", "-F", host, "-f", str(known_hosts)],
                          capture_output=True, text=True, check=False).stdout


def forget(known_hosts: Path, host: str) -> None:
    """Remove `host`'s entries from known_hosts."""
    subprocess.run(["ssh-keygen", "-R", host, "-f", str(known_hosts)], capture_output=True,
                   check=True)
