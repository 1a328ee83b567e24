"""Check mode of `remove`, `accessory remove` and `prune`: the plans' playbooks run for real
against this machine (local connection) with a fake `docker` that records its argv and answers
the reads from a fixed state.

With `--check` (the lock plays skipped, as check mode does) the recorded argv holds reads only,
and the `kdeploy_outcome` facts name what the same run without `--check` removes: the same
changes, each one backed by the real run's commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from playbook_support import REPO

from kdeploy.config import load_config
from kdeploy.plan import Plan
from kdeploy.plan.accessory import AccessoryOptions, build_accessory_plan
from kdeploy.plan.app_commands import build_remove_plan
from kdeploy.plan.maintenance import build_prune_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.sandbox.example import deploy_config
from kdeploy.selection import CommandContext, Filters

REGISTRY = "10.213.7.1:5000"
SERVICE = "kdeploy-demo"
# The fixed state the fake docker reports: stopped containers (newest first), the current app
# container, dangling and unused images.
STOPPED = [f"{digit}" * 64 for digit in "1234567"]
CURRENT = "c" * 64
DANGLING = ["sha256:" + "d" * 64]
UNUSED = [f"{REGISTRY}/{SERVICE}:v1", f"{REGISTRY}/{SERVICE}:v2"]

# Every call is recorded; reads answer from the state above, writes answer as docker does (a
# prune prints what it deleted, rm and rmi what they removed).
FAKE_DOCKER = f"""#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
case "$*" in
  "ps --latest"*) echo {CURRENT} ;;
  "ps -q -a "*|"ps -a -q "*) printf '%s\\n' {' '.join(STOPPED)} ;;
  "container prune"*) echo "Deleted Containers:"; printf '%s\\n' {' '.join(STOPPED)};
    # An app role's prune follows the stop of its current container.
    case "$*" in *label=role=*) echo {CURRENT} ;; esac
    echo; echo "Total reclaimed space: 0B" ;;
  "rm "*) echo "$2" ;;
  "image ls -q"*) printf '%s\\n' {' '.join(DANGLING)} ;;
  "image ls --filter"*) for tag in {' '.join(UNUSED)}; do echo "0123456789ab $tag"; done ;;
  "image prune"*) echo "Deleted Images:";
    for id in {' '.join(DANGLING)}; do echo "deleted: $id"; done;
    echo; echo "Total reclaimed space: 0B" ;;
  "rmi "*) echo "Untagged: $2" ;;
  "image inspect"*|"volume inspect"*) exit 0 ;;
  "image rm"*) echo "Untagged: $3"; echo "Deleted: sha256:{"e" * 64}" ;;
  "volume rm"*) echo "$3" ;;
  "container inspect"*) exit 1 ;;
esac
exit 0
"""

# A callback that writes each task result's kdeploy_outcome fact, as the controller collects it.
OUTCOME_CALLBACK = """
from __future__ import annotations
import json
import os
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "outcomes"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        res = getattr(result, "result", None) or result._result
        outcome = (res.get("ansible_facts") or {}).get("kdeploy_outcome")
        if outcome is not None:
            with open(os.environ["OUTCOME_LOG"], "a") as log:
                log.write(json.dumps({"host": result._host.get_name(), **outcome}) + "\\n")
"""

# docker's read-only commands (what a check may run).
READS = ("ps ", "image ls ", "image inspect ", "container ls ", "container inspect ",
         "volume inspect ", "inspect ", "info", "images")
SCHEMA = json.loads((REPO / "frontend/kdeploy/schemas/events-v1.schema.json").read_text())


def _context(config_file: Path, hosts: str | None = None) -> CommandContext:
    return CommandContext(load_config(config_file, version="v1", environ={}),
                          Filters(hosts=hosts), performer="kdeploy")


def _change_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": "#/$defs/change", "$defs": SCHEMA["$defs"]})


def _config_file(tmp_path: Path) -> Path:
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1", "10.0.99.2", "10.0.99.3"])
    config["servers"]["web"]["proxy"] = True
    config["accessories"]["db"]["volumes"] = ["dbdata:/var/lib/db"]
    path = tmp_path / "config" / "deploy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(config))
    return path


def _run(plan: Plan, config_file: Path, tmp_path: Path, check: bool,
         extra: tuple[str, ...] = ()) -> tuple[list[str], list[dict[str, Any]], Path]:
    """Run the plan's playbook without its lock plays; return docker's argv, the outcomes and
    the home directory."""
    tool = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ansible-playbook is required in CI")
        pytest.skip("ansible-playbook is not installed")
    run = tmp_path / ("check" if check else "real")
    directory, bin_dir, home = run / "pdd", run / "bin", run / "home"
    write_private_data_dir(directory, load_config(config_file, version="v1", environ={}), plan)
    for path in (bin_dir, run / "callbacks", home / ".kamal/apps" / SERVICE,
                 home / ".kamal/proxy/apps-config" / SERVICE, home / f"{SERVICE}-db/data"):
        path.mkdir(parents=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (run / "callbacks" / "outcomes.py").write_text(OUTCOME_CALLBACK)
    log, outcomes = run / "docker.log", run / "outcomes.jsonl"
    result = subprocess.run(
        [tool, "-i", "../inventory/hosts.yml", "-e", "@../env/extravars",
         "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", "registry_stored=true", *extra, plan.playbook, *plan.ansible_playbook_args(),
         "--skip-tags", "lock", *(["--check"] if check else [])],
        cwd=directory / "project", capture_output=True, text=True, check=False, timeout=180,
        env={**os.environ, "HOME": str(home), "FAKE_DOCKER_LOG": str(log),
             "OUTCOME_LOG": str(outcomes), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
             "ANSIBLE_CONFIG": str(directory / "project" / "ansible.cfg"),
             "ANSIBLE_CALLBACK_PLUGINS": str(run / "callbacks"),
             "ANSIBLE_CALLBACKS_ENABLED": "outcomes"})
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    reported = [json.loads(line) for line in outcomes.read_text().splitlines()] \
        if outcomes.exists() else []
    return calls, reported, home


def _changes(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    validator = _change_validator()
    changes = [change for outcome in outcomes for change in outcome["changes"]]
    for change in changes:
        validator.validate(change)
    return changes


def _writes(calls: list[str]) -> list[str]:
    return [call for call in calls if not call.startswith(READS)]


def _check_and_real(plan: Plan, config_file: Path, tmp_path: Path, extra: tuple[str, ...] = ()
                    ) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]], Path]:
    check_calls, check_outcomes, checked = _run(plan, config_file, tmp_path, True, extra)
    assert _writes(check_calls) == []
    # Nothing on the host changed either: the directories are there, no audit line was written.
    assert (checked / ".kamal/apps" / SERVICE).is_dir()
    assert (checked / f"{SERVICE}-db/data").is_dir()
    assert not list(checked.glob(".kamal/*audit.log"))
    real_calls, real_outcomes, home = _run(plan, config_file, tmp_path, False, extra)
    assert list(home.glob(".kamal/*audit.log"))
    assert _changes(check_outcomes) == _changes(real_outcomes)
    return _changes(check_outcomes), real_calls, real_outcomes, home


def _removed(kind: str, *names: str) -> list[dict[str, str]]:
    return [{"kind": kind, "name": name, "action": "remove"} for name in names]


def test_remove_check_reads_only_and_names_what_remove_removes(tmp_path: Path) -> None:
    config_file = _config_file(tmp_path)
    plan = build_remove_plan(_context(config_file, hosts="10.0.99.1"))
    changes, calls, _, home = _check_and_real(plan, config_file, tmp_path)
    assert changes == [
        {"kind": "proxy", "name": f"{SERVICE}-web", "action": "route"},
        {"kind": "container", "name": CURRENT, "action": "stop"},
        # The web role's prune: in check mode its stopped containers and the current one.
        *_removed("container", *STOPPED, CURRENT),
        *_removed("image", *DANGLING),
        *_removed("directory", f".kamal/apps/{SERVICE}", f".kamal/proxy/apps-config/{SERVICE}"),
        # kamal-proxy: no other app is installed once the app directory is gone, also in check
        # mode (where it is still there). Its containers and images go by image title.
        *_removed("container", *STOPPED), *_removed("image", *DANGLING),
        *_removed("directory", ".kamal/proxy"),
        # The accessory db (its data is kept without --purge).
        *_removed("container", *STOPPED),
        *_removed("image", f"{REGISTRY}/kdeploy-db:1"),
    ]
    writes = _writes(calls)
    assert f"exec kamal-proxy kamal-proxy remove {SERVICE}-web" in writes
    assert f"stop {CURRENT}" in writes
    assert f"container prune --force --filter label=service={SERVICE}-db" in writes
    assert f"image rm --force {REGISTRY}/kdeploy-db:1" in writes
    assert not (home / ".kamal/proxy").exists()
    assert (home / f"{SERVICE}-db/data").is_dir()


def test_accessory_remove_purge_check_names_the_data_it_would_delete(tmp_path: Path) -> None:
    config_file = _config_file(tmp_path)
    plan = build_accessory_plan(_context(config_file), "remove", "db",
                                AccessoryOptions(purge=True))
    changes, calls, _, home = _check_and_real(plan, config_file, tmp_path)
    assert changes == [*_removed("container", *STOPPED),
                       *_removed("image", f"{REGISTRY}/kdeploy-db:1"),
                       *_removed("directory", f"{SERVICE}-db"), *_removed("volume", "dbdata")]
    assert "volume rm dbdata" in _writes(calls)
    assert not (home / f"{SERVICE}-db").exists()


@pytest.mark.parametrize("what", ["containers", "images", "all"])
def test_prune_check_names_what_prune_removes(tmp_path: Path, what: str) -> None:
    config_file = _config_file(tmp_path)
    plan = build_prune_plan(_context(config_file, hosts="10.0.99.1"), what)
    changes, calls, _, _ = _check_and_real(plan, config_file, tmp_path)
    # Kamal keeps the newest 5 stopped containers; the images no container uses go, except
    # the latest tag (none here).
    containers = _removed("container", *STOPPED[5:]) if what != "images" else []
    images = _removed("image", *DANGLING, *UNUSED) if what != "containers" else []
    assert changes == containers + images
    writes = _writes(calls)
    assert [f"rm {ident}" for ident in STOPPED[5:] if containers] == [
        call for call in writes if call.startswith("rm ")]
    assert [f"rmi {tag}" for tag in UNUSED if images] == [
        call for call in writes if call.startswith("rmi ")]


# The accessory role's outcome for boot and reboot, from the results its tasks register: a play
# loads the role's vars and defaults and renders the change from a recorded state. It also logs the
# spec's per-field hashes, the label a container booted with that config carries.
OUTCOME_PLAY = f"""
- name: Render the accessory outcome
  hosts: localhost
  gather_facts: false
  vars_files:
    - {REPO}/roles/accessory/defaults/main.yml
    - {REPO}/roles/accessory/vars/main.yml
  tasks:
    - name: Report the outcome.
      ansible.builtin.set_fact:
        kdeploy_outcome:
          changes: "{{{{ __accessory_change }}}}"
          spec_fields: "{{{{ __accessory_spec_fields | to_json(sort_keys=true) }}}}"
          spec_hash: "{{{{ __accessory_spec_hash }}}}"
"""
OLD_SECRET, NEW_SECRET = "old-pass-4f1a", "new-pass-9c2e"
OLD = {"accessory_env": {"clear": {"MODE": "old"},
                         "secret_env": {"DB_PASSWORD": "KDEPLOY_SECRET_DB_PASSWORD"}},
       "accessory_ports": ["5432:5432"]}


def _accessory_run(tmp_path: Path, **registered: Any) -> tuple[dict[str, Any], str]:
    tool = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.skip("ansible-playbook is not installed")
    (tmp_path / "callbacks").mkdir(exist_ok=True)
    (tmp_path / "callbacks" / "outcomes.py").write_text(OUTCOME_CALLBACK)
    (tmp_path / "play.yml").write_text(OUTCOME_PLAY)
    inputs = {
        "accessory_name": "db", "kdeploy_service": SERVICE, "accessory_image": "postgres:16",
        "accessory_env": {"clear": {"MODE": "new"},
                          "secret_env": {"DB_PASSWORD": "KDEPLOY_SECRET_DB_PASSWORD"}},
        "accessory_ports": ["5433:5432"],
        "__accessory_state": {"exists": True, "running": True, "converged": False,
                              "spec_fields": None, "image_matches": True, "home": "/h",
                              "directories": [], "env_changed_keys": ["DB_PASSWORD"]},
        **registered}
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    log = tmp_path / "outcomes.jsonl"
    log.unlink(missing_ok=True)
    result = subprocess.run(
        [tool, "-i", "localhost,", "-c", "local", "-e", "@inputs.json", "--check", "--diff", "-v",
         "play.yml"], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "OUTCOME_LOG": str(log), "KDEPLOY_SECRET_DB_PASSWORD": NEW_SECRET,
             "ANSIBLE_CALLBACK_PLUGINS": str(tmp_path / "callbacks"),
             "ANSIBLE_CALLBACKS_ENABLED": "outcomes",
             "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections")})
    assert result.returncode == 0, result.stdout + result.stderr
    (outcome,) = [json.loads(line) for line in log.read_text().splitlines()]
    return outcome, result.stdout + result.stderr + log.read_text()


def _accessory_outcome(tmp_path: Path, **registered: Any) -> tuple[list[dict[str, Any]], str]:
    outcome, output = _accessory_run(tmp_path, **registered)
    return _changes([outcome]), output


def _booted_with(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The state of a running container booted with config: its spec fields label."""
    outcome, _ = _accessory_run(tmp_path, **config)
    return {"exists": True, "running": True, "converged": False, "image_matches": True,
            "spec_fields": outcome["spec_fields"], "home": "/h", "directories": [],
            "env_changed_keys": ["DB_PASSWORD"],
            # The clear keys' values the state module reads back from the container.
            "env": {"MODE": "old", "KAMAL_HOST": "localhost"}}


# The new config's values of the differing fields (the spec holds no secret), the clear env by
# key with the container's value, the secret by key only.
FIELDS = [{"field": "env.MODE", "before": "old", "after": "new"},
          {"field": "published_ports", "after": ["5433:5432"]},
          {"field": "env.DB_PASSWORD", "secret": True}]


def test_boot_of_a_differing_accessory_names_the_fields_and_the_secret_by_key_only(
        tmp_path: Path) -> None:
    state = _booted_with(tmp_path, OLD)
    changes, output = _accessory_outcome(tmp_path, __accessory_state=state)
    assert changes == [{"kind": "accessory", "name": "db", "image": "postgres:16",
                        "action": "differs", "fields": FIELDS}]
    assert OLD_SECRET not in output and NEW_SECRET not in output


def test_reboot_replaces_and_names_the_fields_that_differed(tmp_path: Path) -> None:
    state = _booted_with(tmp_path, OLD)
    changes, output = _accessory_outcome(
        tmp_path, __accessory_state=state, __accessory_rebooting=True,
        __accessory_container={"changed": True, "action": "replace"})
    assert changes == [{"kind": "accessory", "name": "db", "image": "postgres:16",
                        "action": "replace", "fields": FIELDS}]
    assert OLD_SECRET not in output and NEW_SECRET not in output


def test_an_accessory_without_options_keeps_the_hash_it_had_under_docker_container(
        tmp_path: Path) -> None:
    # The spec hash the role gave this accessory when it booted through docker_container (the
    # `docker` field was then {}): the same hash, so such a container stays converged.
    outcome, _ = _accessory_run(
        tmp_path, accessory_env={"clear": {"MODE": "x"},
                                 "secret_env": {"DB_PASSWORD": "KDEPLOY_SECRET_DB_PASSWORD"}},
        accessory_ports=["5432:5432"], accessory_volumes=["data:/var/lib/postgresql"],
        accessory_directories=[{"path": "app-db/conf", "mount": "/etc/pg"}],
        kdeploy_service="app")
    assert outcome["spec_hash"] == "880bcc8be57e089e75c3285b95ecf86d42959a87"


def test_a_container_without_the_spec_labels_is_left_as_it_is(tmp_path: Path) -> None:
    # Booted by Kamal (or by hand): nothing to compare with, so nothing is reported or applied.
    changes, _ = _accessory_outcome(tmp_path)
    assert changes == []


@pytest.mark.parametrize(("state", "booted", "action"), [
    ({"exists": False, "running": False}, True, "create"),
    ({"exists": True, "running": False}, True, "start"),
    ({"exists": True, "running": True, "converged": True}, False, None),
])
def test_boot_creates_starts_or_leaves_a_converged_accessory_alone(
        tmp_path: Path, state: dict[str, bool], booted: bool, action: str | None) -> None:
    full = {"converged": False, "spec_fields": None, "image_matches": True, "home": "/h",
            "directories": [], "env_changed_keys": [], **state}
    changes, _ = _accessory_outcome(tmp_path, __accessory_state=full,
                                    __accessory_container={"changed": booted})
    expected = [{"kind": "accessory", "name": "db", "image": "postgres:16", "action": action}]
    assert changes == (expected if action else [])
