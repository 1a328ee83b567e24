"""The accessory_boot module (plugins/modules/accessory_boot.py) against the role's templates.

Boot's one call derives in Python what reboot still templates from roles/accessory/vars/main.yml:
Kamal's `docker run` argv, the differing fields and the outcome. Here both are computed for the
same accessory and the same container state (Ansible's own Templar renders the role's variables)
and must agree, so a host booted by one and rebooted by the other gets the same container and
the same report.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from playbook_support import REPO, load_plugin

boot = load_plugin("accessory_boot")

CONFIG: dict[str, Any] = {
    "service_name": "app-db", "image": "postgres:16", "cmd": "postgres -c 'a b'",
    "published_ports": ["5432:5432", 8080],
    "labels": {"service": "app-db", "tier": 2, "owner": "Zoë"},
    "env": {"POSTGRES_USER": "app", "WORKERS": 4}, "secret_env": {"POSTGRES_PASSWORD": "KD_PW"},
    "env_file": ".kamal/apps/app/env/accessories/db.env", "volumes": ["data:/data"],
    "directories": [{"path": "app-db/data", "mount": "/var/lib/data", "mode": None,
                     "owner": None, "options": "z"},
                    {"path": "/srv/backup", "mount": "/backup", "mode": "0700", "owner": None}],
    "files": [{"src": "my.cnf", "path": "app-db/conf/my.cnf", "mount": "/etc/my.cnf",
               "mode": None, "owner": None},
              {"src": "init.sql", "path": "/etc/app/init.sql", "mount": "/init.sql",
               "options": "ro"}],
    "network": "kamal", "log_driver": None, "log_options": {"max-size": "10m"},
    "docker_args": ["--shm-size", "1g"], "restart_policy": "unless-stopped",
}
HOME = "/home/deploy"
HOST = "10.0.0.1"


def templar(state: dict[str, Any], booted: bool = False) -> Templar:
    """Ansible's Templar over the role's defaults and vars, for CONFIG on HOST in `state`."""
    loader = DataLoader()
    role = REPO / "roles" / "accessory"
    variables = dict(loader.load_from_file(str(role / "defaults" / "main.yml"),
                                           trusted_as_template=True))
    variables.update(loader.load_from_file(str(role / "vars" / "main.yml"),
                                           trusted_as_template=True))
    variables.update(accessory_name="db", kdeploy_service="app", accessory_config=CONFIG,
                     inventory_hostname=HOST, __accessory_state=state,
                     __accessory_container={"changed": booted})
    return Templar(loader=loader, variables=variables)


def rendered(state: dict[str, Any], name: str, booted: bool = False) -> Any:
    return templar(state, booted).template(trust_as_template("{{ " + name + " }}"))


def state(**changes: Any) -> dict[str, Any]:
    """container_state's result for a running, converged accessory, with changes."""
    found = {"home": HOME, "env_file": f"{HOME}/{CONFIG['env_file']}",
             "directories": [f"{HOME}/app-db/data", "/srv/backup"], "exists": True,
             "running": True, "converged": True, "image_matches": True, "env_file_changed": False,
             "env_changed_keys": [], "env": {"POSTGRES_USER": "app", "WORKERS": "4"},
             "registry_stored": False}
    found.update(changes)
    if "spec_fields" not in found:
        found["spec_fields"] = json.dumps(rendered(found, "__accessory_spec_fields"))
    return found


def params(found: dict[str, Any]) -> dict[str, Any]:
    """The module's options as boot.yml templates them, with what the module derives."""
    given = {"accessory": "db", "host": HOST, "config": CONFIG,
             "spec": rendered(found, "__accessory_spec"),
             "env_secrets": {"POSTGRES_PASSWORD": "pw"}, "spec_label": "kdeploy.spec"}
    boot.derive(given)
    return given


def test_the_spec_labels_are_the_hashes_the_role_templated() -> None:
    # Accessories booted before the module hashed the spec itself keep their labels: a changed
    # hash would make each of them look differing once.
    found = state()
    derived = params(found)
    assert derived["spec_hash"] == rendered(found, "__accessory_spec_hash")
    assert derived["spec_fields"] == rendered(found, "__accessory_spec_fields")
    assert list(derived["spec_fields"]) == list(rendered(found, "__accessory_spec"))


def test_the_state_options_come_from_the_config() -> None:
    derived = params(state())
    assert (derived["name"], derived["image"], derived["env_file"]) == (
        "app-db", "postgres:16", CONFIG["env_file"])
    assert derived["directories"] == [
        {"path": "app-db/data", "mode": None, "owner": None},
        {"path": "/srv/backup", "mode": "0700", "owner": None}]
    assert derived["env_keys"] == ["POSTGRES_USER", "WORKERS", "KAMAL_HOST"]


def test_the_docker_run_argv_is_the_one_the_role_templates() -> None:
    found = state()
    templated = [str(arg) for arg in rendered(found, "__accessory_run_args")]
    assert boot.run_args(CONFIG, HOST, found["env_file"], found["directories"], HOME) == templated
    assert templated[-2:] == ["--shm-size", "1g"]
    assert f"{HOME}/app-db/conf/my.cnf:/etc/my.cnf" in templated
    assert "/etc/app/init.sql:/init.sql:ro" in templated


def running_fields(**changed: str) -> str:
    """The fields label of a container booted from CONFIG, with some fields' hashes changed."""
    fields = rendered(state(spec_fields="{}"), "__accessory_spec_fields")
    return json.dumps(dict(fields, **changed))


CASES = {
    "new": {"exists": False, "running": False, "converged": False, "spec_fields": None,
            "image_matches": False},
    "converged": {},
    "stopped": {"running": False, "converged": False},
    "secret changed": {"converged": False, "env_file_changed": True,
                       "env_changed_keys": ["POSTGRES_PASSWORD"]},
    "differs": {"converged": False, "image_matches": False,
                "spec_fields": running_fields(env="0", docker="0"),
                "env": {"POSTGRES_USER": "old", "WORKERS": "4"}},
    "unlabelled": {"converged": False, "spec_fields": None},
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_differences_and_outcome_are_the_ones_the_role_templates(case: str) -> None:
    found = state(**CASES[case])
    names = [] if not found["exists"] else boot.differences(params(found)["spec_fields"], found)
    assert names == rendered(found, "__accessory_differences")
    booted = rendered(found, "__accessory_would_change")
    assert boot.change(params(found), found, booted, names) == rendered(
        found, "__accessory_change", booted)


def test_a_differing_accessory_is_reported_by_field_never_replaced() -> None:
    found = state(**CASES["differs"])
    names = boot.differences(params(found)["spec_fields"], found)
    assert names == ["env", "options", "image"]
    [change] = boot.change(params(found), found, False, names)
    assert change["action"] == "differs"
    assert {"field": "env.POSTGRES_USER", "before": "old", "after": "app"} in change["fields"]


def test_a_changed_secret_is_named_never_shown() -> None:
    found = state(**CASES["secret changed"])
    [change] = boot.change(params(found), found, True, [])
    assert change["action"] == "replace"
    assert change["fields"] == [{"field": "env.POSTGRES_PASSWORD", "secret": True}]
    assert "pw" not in json.dumps(change)


class FakeClient:
    """A daemon whose accessory reports one health status; its log, by the docker CLI."""

    def __init__(self, health: str | None, gone: bool = False) -> None:
        self.health, self.gone, self.calls = health, gone, []

    def inspect_container(self, name: str) -> dict[str, Any] | None:
        if self.gone:
            return None
        return {"State": {"Health": {"Status": self.health}} if self.health else {}}

    def cli(self, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        self.calls.append(argv)
        return 0, "starting\nERROR: cannot bind\n", ""


class FakeStop:
    """StopSignal without signals: counts the sleeps, or is asked to stop at the first."""

    def __init__(self, stop: bool = False) -> None:
        self.stop, self.sleeps = stop, 0

    def sleep(self, seconds: float) -> None:
        if self.stop:
            raise boot.StopRequested("stop requested")
        self.sleeps += 1

    def check(self) -> None:
        pass


class FakeModule:
    def __init__(self) -> None:
        self.params = {"accessory": "db", "name": "app-db", "host": HOST, "deploy_timeout": 0}
        self.check_mode = False


def test_an_unhealthy_accessory_fails_with_its_last_log_lines() -> None:
    client = FakeClient("starting")
    with pytest.raises(boot.Unhealthy) as failed:
        boot.AccessoryBoot(FakeModule(), FakeStop()).wait_healthy(client)
    assert str(failed.value) == (
        "Accessory db (app-db) on 10.0.0.1 did not become healthy within the deploy timeout of "
        "0 seconds (health: starting). Its last log lines:\nstarting\nERROR: cannot bind")
    assert client.calls == [["logs", "--tail", "20", "app-db"]]


def test_an_accessory_removed_during_the_wait_fails_the_boot() -> None:
    # Gone is not "no health check": the app must not boot against an accessory that vanished.
    with pytest.raises(boot.Unhealthy) as failed:
        boot.AccessoryBoot(FakeModule(), FakeStop()).wait_healthy(FakeClient(None, gone=True))
    assert str(failed.value) == (
        "Accessory db (app-db) on 10.0.0.1 was removed while kdeploy waited for it to be healthy")


@pytest.mark.parametrize("health", ["healthy", None])
def test_a_healthy_accessory_or_one_without_a_health_check_is_not_waited_for(
        health: str | None) -> None:
    stop = FakeStop()
    boot.AccessoryBoot(FakeModule(), stop).wait_healthy(FakeClient(health))
    assert stop.sleeps == 0


def test_an_interrupted_health_wait_says_the_accessory_runs_not_yet_healthy() -> None:
    module = FakeModule()
    module.params["deploy_timeout"] = 30
    accessory = boot.AccessoryBoot(module, FakeStop(stop=True))
    accessory.booted_id, accessory.step = "c0ffee", "waiting until it is healthy"
    with pytest.raises(boot.StopRequested):
        accessory.wait_healthy(FakeClient("starting"))
    assert boot.interrupted_note(accessory) == {
        "module": "kdeploy.deploy.accessory_boot", "role": "accessory db", "container": "app-db",
        "step": "waiting until it is healthy", "left": "app-db runs, not yet healthy"}
