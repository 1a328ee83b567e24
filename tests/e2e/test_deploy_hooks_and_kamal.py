"""Deploy next to Kamal on the same hosts, and deploy's hooks (both kinds) on the sandbox.

Interop (issue 5): `kamal setup` v1 -> `kdeploy deploy` v2 -> `kamal rollback v1` ->
`kdeploy deploy` v2; every step succeeds and each host runs exactly one app container per role.
"""

from __future__ import annotations

import json
from pathlib import Path

import helpers
import pytest
from app_state import ROLES, assert_runs, running_app
from project import Project, address, app_container, example_config, lock_dirs

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

LOG = "hooks.log"


def _project(info: SandboxInfo, tmp_path: Path) -> Project:
    config = example_config(info)
    config.pop("accessories")
    return Project.write(tmp_path, config)


def test_kamal_and_kdeploy_take_turns_on_the_same_hosts(clean_sandbox: SandboxInfo,
                                                        tmp_path: Path) -> None:
    info = clean_sandbox
    project = _project(info, tmp_path)
    steps = [
        (project.kamal, ("setup", "-P", "--version", "v1"), "v1"),
        (project.kdeploy, ("deploy", "-P", "--version", "v2"), "v2"),
        (project.kamal, ("rollback", "v1", "--version", "v1"), "v1"),
        (project.kdeploy, ("deploy", "-P", "--version", "v2"), "v2"),
    ]
    for tool, args, version in steps:
        run = tool(*args)
        assert run.returncode == 0, run
        assert_runs(info, version)
        for index in (1, 2, 3):
            assert all(len(names) == 1 for names in running_app(info, index).values())
        assert lock_dirs(info, 1) == []
    # Kamal can still see and roll back to what kdeploy deployed.
    run = project.kamal("app", "containers", "--version", "v2")
    assert run.returncode == 0 and app_container("web", "v2") in run.output, run


def _hooked_project(info: SandboxInfo, tmp_path: Path) -> Project:
    project = _project(info, tmp_path)
    project.config["x-kdeploy"] = {"hooks": {"pre-deploy": ["hooks/pre.yml"]}}
    project.save()
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "pre.yml").write_text(f"""\
- name: Record the web hosts before the deploy
  hosts: role_web
  gather_facts: false
  tasks:
    - name: Log the host and the version locally.
      ansible.builtin.shell: >-
        echo "playbook {{{{ inventory_hostname }}}} {{{{ kdeploy_version }}}}" >> {tmp_path / LOG}
      delegate_to: localhost
      changed_when: true
""")
    hooks = tmp_path / ".kamal" / "hooks"
    hooks.mkdir(parents=True)
    for name in ("pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy"):
        (hooks / name).write_text(
            f'#!/bin/sh\necho "{name} $KAMAL_COMMAND $KAMAL_VERSION $KAMAL_HOSTS '
            f'lock=$KAMAL_LOCK" >> {LOG}\n')
        (hooks / name).chmod(0o755)
    return project


def test_deploy_runs_kamal_hooks_and_hook_playbooks_in_order_once(clean_sandbox: SandboxInfo,
                                                                  tmp_path: Path) -> None:
    info = clean_sandbox
    project = _hooked_project(info, tmp_path)
    run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode == 0, run
    hosts = ",".join(address(info, index) for index in (1, 2, 3))
    lines = (tmp_path / LOG).read_text().splitlines()
    assert lines[0] == f"pre-deploy deploy v2 {hosts} lock=true"
    assert sorted(lines[1:3]) == sorted(f"playbook {address(info, i)} v2" for i in ROLES["web"])
    assert lines[3:] == [f"pre-app-boot deploy v2 {hosts} lock=true",
                         f"post-app-boot deploy v2 {hosts} lock=true",
                         f"post-deploy deploy v2 {hosts} lock=false"]
    assert_runs(info, "v2")


def test_a_failing_pre_deploy_hook_stops_the_deploy(clean_sandbox: SandboxInfo,
                                                    tmp_path: Path) -> None:
    info = clean_sandbox
    project = _project(info, tmp_path)
    assert (run := project.kdeploy("deploy", "-P", "--version", "v1")).returncode == 0, run
    hook = tmp_path / ".kamal" / "hooks" / "pre-deploy"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\necho 'deploys are frozen'\nexit 1\n")
    hook.chmod(0o755)
    run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode == 1, run
    assert "Hook `pre-deploy` failed" in run.output and "deploys are frozen" in run.output
    assert_runs(info, "v1")
    assert helpers.container(info, 1, app_container("web", "v2")) is None
    assert lock_dirs(info, 1) == []


def _inspect(info: SandboxInfo, index: int, name: str) -> dict:
    out = helpers.ssh(info, index, f"docker inspect {name}").stdout
    return json.loads(out)[0]


def _comparable(item: dict, version: str) -> dict:
    """What Kamal's `docker run` decides, with the version and kdeploy's own label taken out."""
    config, host = item["Config"], item["HostConfig"]
    labels = {k: v for k, v in (config.get("Labels") or {}).items() if not k.startswith("kdeploy.")}
    return {
        "env": sorted(e.replace(version, "V") for e in config["Env"]),
        "labels": labels,
        "cmd": config["Cmd"],
        "image": config["Image"].replace(version, "V"),
        "hostname_prefix": config["Hostname"].rsplit("-", 1)[0],
        "restart": host["RestartPolicy"]["Name"],
        "network": host["NetworkMode"],
        "log": host["LogConfig"],
        "binds": host.get("Binds"),
        "memory": host["Memory"],
        "init": host.get("Init"),
    }


def test_kdeploy_runs_the_container_kamal_runs(clean_sandbox: SandboxInfo,
                                               tmp_path: Path) -> None:
    info = clean_sandbox
    project = _project(info, tmp_path)
    web = project.config["servers"]["web"]
    web.update({"options": {"memory": "64m", "init": True}, "labels": {"team": "web"},
                "env": {"clear": {"MODE": "web"}, "secret": ["APP_SECRET"]},
                "logging": {"options": {"max-size": "5m"}}})
    project.config["volumes"] = ["/tmp/kdeploy-e2e-data:/data"]
    project.save()
    (tmp_path / ".kamal" / "secrets").write_text(
        "KAMAL_REGISTRY_PASSWORD=sandbox\nAPP_SECRET=s3cret-value\n")
    assert (run := project.kamal("setup", "-P", "--version", "v1")).returncode == 0, run
    assert (run := project.kdeploy("deploy", "-P", "--version", "v2")).returncode == 0, run
    for index in ROLES["web"]:
        by_kamal = _inspect(info, index, app_container("web", "v1"))
        by_kdeploy = _inspect(info, index, app_container("web", "v2"))
        assert _comparable(by_kdeploy, "v2") == _comparable(by_kamal, "v1")
        # Both env files hold the secret, 0600, where Kamal keeps them.
        env_file = "~/.kamal/apps/kdeploy-demo/env/roles/web.env"
        assert helpers.ssh(info, index, f"stat -c %a {env_file}").stdout.strip() == "600"
        assert "s3cret-value" not in run.output
