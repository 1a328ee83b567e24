"""examples/ansible with plain `ansible-playbook` on the sandbox (issue 14's acceptance).

An Ansible user's own inventory, written by hand here (own group names `webservers` and
`databases`, no variable kdeploy generates), and the example's `site.yml`: the user's pre-task, the
`cache` accessory, `kdeploy.deploy.app` with only `kdeploy_service`, `kdeploy_image` and
`kdeploy_version`, the user's post-task. No kdeploy process runs, except in the test that compares
with `kdeploy deploy`. Hosts are named by their addresses, as in a deploy.yml: the container's
KAMAL_HOST and hostname come from the inventory name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import helpers
import pytest
from project import BIN, Project, assert_only_the_lock_changed, file_mode, snapshot

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SECRET

pytestmark = [pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "examples" / "ansible" / "site.yml"
SERVICE = "kdeploy-demo"  # the example's demo_service (group_vars/all.yml)
WEB = (1, 2)
DB = 3
ENV_FILE = f"~/.kamal/apps/{SERVICE}/env/roles/web.env"
CACHE = f"{SERVICE}-cache"
# `<host> : ok=5 changed=0 unreachable=0 failed=0 ...` in PLAY RECAP.
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+"
                        r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)

INVENTORY = """\
all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: {key}
    ansible_ssh_common_args: >-
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes
    demo_registry: "{registry}"
  children:
    webservers:
      hosts:
        {web1}:
        {web2}:
    databases:
      hosts:
        {db}:
"""


@dataclass(frozen=True)
class PlaybookRun:
    """A finished `ansible-playbook` run."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr

    def recap(self) -> dict[str, dict[str, int]]:
        """{host: {changed, unreachable, failed}} from PLAY RECAP."""
        return {m["host"]: {key: int(m[key]) for key in ("changed", "unreachable", "failed")}
                for m in RECAP_LINE.finditer(self.stdout)}

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\n-> exit {self.returncode}\n{self.output}"


@dataclass(frozen=True)
class Example:
    """The example playbook with a hand-written inventory for this sandbox."""

    info: SandboxInfo
    inventory: Path

    def play(self, *args: str, env: dict[str, str] | None = None) -> PlaybookRun:
        """Run `ansible-playbook -i inventory site.yml ARGS` from the venv (a plain run)."""
        argv = (str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(SITE), *args)
        environ = {key: value for key, value in os.environ.items()
                   if not key.startswith("ANSIBLE_")}
        environ |= {"ANSIBLE_NOCOLOR": "1"} | (env or {})
        result = subprocess.run(argv, cwd=self.inventory.parent, env=environ,
                                capture_output=True, text=True, timeout=600, check=False)
        return PlaybookRun(argv, result.returncode, result.stdout, result.stderr)

    def web_hosts(self) -> list[str]:
        """The addresses of the `webservers` group."""
        return [self.info.host(index).address for index in WEB]


@pytest.fixture
def example(clean_sandbox: SandboxInfo, tmp_path: Path) -> Example:
    """The hand-written inventory (own groups, addresses from the sandbox) in a tmp dir."""
    info = clean_sandbox
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY.format(
        key=info.key_path, registry=info.registry, web1=info.host(1).address,
        web2=info.host(2).address, db=info.host(DB).address))
    return Example(info, inventory)


@pytest.fixture
def at_v1(example: Example) -> Example:
    """Clean hosts, then the example deployed at v1."""
    run = example.play("-e", "demo_version=v1")
    assert run.returncode == 0, str(run)
    return example


def web_container(version: str) -> str:
    """The app container Kamal names for the web role (no destination)."""
    return f"{SERVICE}-web-{version}"


def env_file_stamps(info: SandboxInfo) -> dict[int, str]:
    """{web host: the env file's mtime (to the nanosecond) and content digest}."""
    command = f"stat -c %y {ENV_FILE} && sha1sum {ENV_FILE}"
    return {index: helpers.ssh(info, index, command).stdout for index in WEB}


def state_at(info: SandboxInfo, name: str, field: str) -> str:
    """`docker inspect --format {{.State.<field>}}` of a container on host 1."""
    return helpers.ssh(info, 1, f"docker inspect --format '{{{{.State.{field}}}}}' {name}"
                       ).stdout.strip()


def instant(timestamp: str) -> tuple[str, int]:
    """A Docker UTC timestamp (`...T10:59:46.1234Z`, trailing zeros trimmed) as a sortable key."""
    seconds, _, fraction = timestamp.removesuffix("Z").partition(".")
    return seconds, int(fraction.ljust(9, "0")[:9])


def assert_diff_shows(run: PlaybookRun, before: str, after: str) -> None:
    """The diff has a removed line holding `before` and an added line holding `after`."""
    lines = run.stdout.splitlines()
    assert any(line.startswith("-") and before in line for line in lines), run
    assert any(line.startswith("+") and after in line for line in lines), run


def test_v1_boots_and_a_rerun_changes_nothing(at_v1: Example) -> None:
    info = at_v1.info
    for index in WEB:
        container = helpers.container(info, index, web_container("v1"))
        assert container is not None and container.running, index
        assert {key: container.labels.get(key) for key in ("service", "role", "destination")} == {
            "service": SERVICE, "role": "web", "destination": ""}
        assert container.labels.get("kdeploy.spec"), container.labels
        assert container.image == f"{info.registry}/{SERVICE}:v1"
        assert file_mode(info, index, ENV_FILE) == "600"
    cache = helpers.container(info, DB, CACHE)
    assert cache is not None and cache.running
    assert cache.labels.get("service") == CACHE
    assert [c.name for c in helpers.containers(info, DB) if c.name.startswith(f"{SERVICE}-web")] \
        == []

    again = at_v1.play("-e", "demo_version=v1")
    assert again.returncode == 0, str(again)
    for host in at_v1.web_hosts():
        assert f"{host} serves v1" in again.stdout, again
    recap = again.recap()
    assert set(recap) == {h.address for h in info.hosts}, again
    assert all(counts["changed"] == 0 for counts in recap.values()), again


def test_check_diff_predicts_v2_and_changes_nothing(at_v1: Example) -> None:
    info = at_v1.info
    before, stamps = snapshot(info), env_file_stamps(info)

    run = at_v1.play("--check", "--diff", "-e", "demo_version=v2")
    assert run.returncode == 0, str(run)
    assert snapshot(info) == before
    assert env_file_stamps(info) == stamps
    recap = run.recap()
    assert all(recap[host]["changed"] > 0 for host in at_v1.web_hosts()), run
    assert_diff_shows(run, f"{SERVICE}:v1", f"{SERVICE}:v2")


def test_v2_boots_and_stops_v1_after_it_is_ready(at_v1: Example) -> None:
    info = at_v1.info
    run = at_v1.play("-e", "demo_version=v2")
    assert run.returncode == 0, str(run)
    for index in WEB:
        new = helpers.container(info, index, web_container("v2"))
        old = helpers.container(info, index, web_container("v1"))
        assert new is not None and new.running, index
        assert old is not None and old.state == "exited", index  # kept for a rollback
    for host in at_v1.web_hosts():
        assert f"{host} serves v2" in run.stdout, run
    assert instant(state_at(info, web_container("v1"), "FinishedAt")) > instant(
        state_at(info, web_container("v2"), "StartedAt"))


def test_same_containers_as_kdeploy_deploy(at_v1: Example, tmp_path: Path) -> None:
    info = at_v1.info
    config = {
        "service": SERVICE,
        "image": SERVICE,
        "servers": {"web": {"hosts": at_v1.web_hosts(), "proxy": False}},
        "registry": {"server": info.registry, "username": "sandbox", "password": [SECRET]},
        "ssh": {"user": "root", "keys": [str(info.key_path)], "keys_only": True},
        "builder": {"arch": "amd64"},
    }
    project = Project.write(tmp_path / "project", config)
    web_before = {index: helpers.container(info, index, web_container("v1")) for index in WEB}
    before, stamps = snapshot(info), env_file_stamps(info)

    run = project.kdeploy("deploy", "-P", "--version", "v1", "--output", "json")
    assert run.returncode == 0, str(run)
    # A converged deploy: the lock (taken and released on the first host) is all that changed.
    assert_only_the_lock_changed(run.events(), lock_host=info.host(1).address)
    assert snapshot(info) == before
    assert env_file_stamps(info) == stamps
    for index in WEB:
        assert helpers.container(info, index, web_container("v1")) == web_before[index]


def test_galaxy_tarball_in_an_empty_collections_path(at_v1: Example, tmp_path: Path) -> None:
    info = at_v1.info
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path",
                            str(tmp_path / "dist"), str(REPO)],
                           capture_output=True, text=True, check=False, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = (tmp_path / "dist").glob("kdeploy-deploy-*.tar.gz")
    with tarfile.open(tarball) as archive:
        assert "roles/app/tasks/main.yml" in archive.getnames()
    empty = tmp_path / "collections"
    # --force: this venv already has kdeploy.deploy in site-packages, and without it
    # ansible-galaxy reports the collection as installed and writes nothing.
    installed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps",
                                "--force", "-p", str(empty), str(tarball)],
                               capture_output=True, text=True, check=False, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (empty / "ansible_collections" / "kdeploy" / "deploy" / "MANIFEST.json").is_file()
    env = {"ANSIBLE_COLLECTIONS_PATH": str(empty)}
    doc = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "kdeploy.deploy.app"],
                         capture_output=True, text=True, check=False, timeout=120,
                         env={**os.environ, **env})
    assert doc.returncode == 0, doc.stdout + doc.stderr
    assert str(empty / "ansible_collections" / "kdeploy" / "deploy") in doc.stdout, doc.stdout

    run = at_v1.play("-e", "demo_version=v2", env=env)
    assert run.returncode == 0, str(run)
    for index in WEB:
        container = helpers.container(info, index, web_container("v2"))
        assert container is not None and container.running, index


def test_secrets_stay_out_of_the_output(at_v1: Example) -> None:
    info = at_v1.info
    secret = "kd-ansible-users-s3cret-5d1f0c"
    app_env = {"app_env": {"clear": {"GREETING": "hello"},
                           "secret_env": {"TOKEN": "KD_TEST_TOKEN"}}}
    run = at_v1.play("-vvv", "--diff", "-e", json.dumps(app_env),
                     env={"KD_TEST_TOKEN": secret})
    assert run.returncode == 0, str(run)
    assert secret not in run.output
    for index in WEB:
        assert helpers.ssh(info, index, f"cat {ENV_FILE}").stdout == f"TOKEN={secret}\n"
        container = helpers.container(info, index, web_container("v1"))
        assert container is not None and container.running
        env = helpers.ssh(info, index, f"docker exec {web_container('v1')} env").stdout
        assert f"TOKEN={secret}" in env.splitlines() and "GREETING=hello" in env.splitlines()

