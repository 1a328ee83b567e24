"""kdeploy's plays and the role's variables give kdeploy.deploy.release the same arguments.

roles/app/tasks/release.yml (kdeploy's own plays) lets the action plugin build the module's
arguments in Python (plugins/plugin_utils/release_args.py); release_from_vars.yml, which the
role's main tasks import, templates them from vars/main.yml. The container's spec label is the
hash of the spec, so any difference would make a converged container look changed after an
upgrade of kdeploy. Here ansible-playbook templates the task's own arguments over kdeploy's
inventory (a `set_fact` of them, no host touched) and the result is compared with the plugin's.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from playbook_support import REPO, _load_file, collections_dir, require_tool

from kdeploy.config import Config, load_config
from kdeploy.host_contract.inventory import build_inventory, render_inventory

release_args = _load_file(
    "ansible_collections.kdeploy.deploy.plugins.plugin_utils.release_args",
    REPO / "plugins" / "plugin_utils" / "release_args.py")
# The one exception of both builds, imported as they import it.
inventory_args = importlib.import_module(
    "ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args")

CONFIG: dict[str, Any] = {
    "service": "shop", "image": "team/shop",
    "registry": {"server": "registry.example:5000", "username": "deployer",
                 "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "servers": {
        "web": {"hosts": ["10.0.0.1", "web-2.example."],
                "proxy": {"host": "shop.example", "app_port": 3000,
                          "ssl": {"certificate_pem": "CERT_PEM", "private_key_pem": "KEY_PEM"}}},
        "jobs": {"hosts": [{"10.0.0.3": "eu"}], "cmd": "bin/jobs --queue 'a b'",
                 "options": {"memory": "512m"}, "labels": {"tier": 2}},
    },
    "env": {"clear": {"PORT": 3000, "MODE": "{{ not templated }}"}, "secret": ["DB_PASSWORD"],
            "tags": {"eu": {"REGION": "eu-west"}}},
    "volumes": ["data:/data"],
    "builder": {"arch": "amd64"},
    "error_pages_path": "public",
    "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
    "deploy_timeout": 45, "retain_containers": 3,
}
SECRETS = {"KAMAL_REGISTRY_PASSWORD": "s3cret", "DB_PASSWORD": "db-pass",
           "CERT_PEM": "-----CERT-----", "KEY_PEM": "-----KEY-----"}


def _config(tmp_path: Path, destination: str | None) -> Config:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    if destination:
        (tmp_path / "config" / f"deploy.{destination}.yml").write_text("{}\n")
    (tmp_path / "public").mkdir()
    for page in ("404.html", "502.html", "notes.txt"):
        (tmp_path / "public" / page).write_text(f"<p>{page}\n\n")
    return load_config(tmp_path / "config" / "deploy.yml", destination, version="v7",
                       environ={})


def _secret_environ(config: Config) -> dict[str, str]:
    # The inventory names each secret by an environment variable; give each its value.
    from kdeploy.host_contract.names import secret_env_var
    return {secret_env_var(name): value for name, value in SECRETS.items()}


def _templated(tmp_path: Path, config: Config, extravars: dict[str, Any],
               environ: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(host, role) -> the release task's arguments, templated by Ansible from the role's vars."""
    task = yaml.safe_load((REPO / "roles" / "app" / "tasks" / "release_from_vars.yml").read_text())
    arguments = dict(task[0]["kdeploy.deploy.release"])
    arguments.pop("barrier")
    (tmp_path / "hosts.yml").write_text(render_inventory(config))
    # The role's defaults as play vars (vars_files would win over the play's app_role).
    defaults = yaml.safe_load((REPO / "roles" / "app" / "defaults" / "main.yml").read_text())
    out = tmp_path / "templated"
    out.mkdir()
    plays = [{
        "name": role.name, "hosts": f"role_{role.name}", "gather_facts": False,
        # No host is reached: each "host" writes its arguments to a local file.
        "connection": "local",
        "vars_files": [str(REPO / "roles" / "app" / "vars" / "main.yml")],
        "vars": {**defaults, "app_role": role.name,
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [{"ansible.builtin.set_fact": {"release_arguments": arguments}},
                  {"ansible.builtin.copy": {
                      "content": "{{ release_arguments | to_json }}", "mode": "0600",
                      "dest": f"{out}/{{{{ inventory_hostname }}}} {role.name}.json"}}],
    } for role in config.roles]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(plays))
    (tmp_path / "extravars.yml").write_text(yaml.safe_dump(extravars))
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         "-e", f"@{tmp_path / 'extravars.yml'}", str(tmp_path / "play.yml")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={**os.environ, **environ,
             "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections"))})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {tuple(path.stem.rsplit(" ", 1)): json.loads(path.read_text())
            for path in out.glob("*.json")}


def _plugin(config: Config, extravars: dict[str, Any],
            environ: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The same, as the action plugin builds them from kdeploy's inventory and variables."""
    inventory = build_inventory(config)
    built = {}
    for role in config.roles:
        for host in role.hosts:
            # A boot play's task vars name the host's role; release.yml gives no value itself.
            variables = {**inventory["all_vars"], **inventory["hosts"][host], **extravars,
                         "kdeploy_slot_roles": {host: role.name}}
            run = release_args.run_values(variables, host, {}, lambda value: value)
            built[(host, role.name)] = release_args.release_args(variables, host, run, environ)
    return built


@pytest.mark.parametrize("destination", [None, "staging"])
def test_the_plugin_builds_what_the_role_variables_template(tmp_path: Path,
                                                            destination: str | None) -> None:
    config = _config(tmp_path, destination)
    environ = _secret_environ(config)
    extravars = {"kdeploy_version": "v7", "kdeploy_performer": "ci@example", "kdeploy_pull": True}
    templated = _templated(tmp_path, config, extravars, environ)
    built = _plugin(config, extravars, environ)
    assert set(templated) == set(built) == {("10.0.0.1", "web"), ("web-2.example.", "web"),
                                            ("10.0.0.3", "jobs")}
    for key, arguments in built.items():
        assert arguments == templated[key], key
    web = built[("web-2.example.", "web")]
    # The values that make the comparison worth having are there: kdeploy's variables, not the
    # role's defaults, ...
    assert (web["deploy_timeout"], web["retain_containers"], web["pull"]) == (45, 3, "always")
    assert web["audit"]["tags"][0] == "ci@example"
    # ... and what the inventory gives.
    assert web["spec"]["hostname"].startswith("web-2.example-")
    assert web["registry"] == {"server": "registry.example:5000", "username": "deployer",
                               "password": "s3cret"}
    assert web["env_secrets"] == {"DB_PASSWORD": "db-pass"}
    assert [f["content"] for f in web["files"]][:2] == ["-----CERT-----", "-----KEY-----"]
    assert [Path(f["path"]).name for f in web["files"][2:]] == ["404.html", "502.html"]
    assert built[("10.0.0.3", "jobs")]["spec"]["env"]["REGION"] == "eu-west"
    assert built[("10.0.0.1", "web")]["spec"]["env"]["MODE"] == "{{ not templated }}"
    assert ("KAMAL_DESTINATION" in web["spec"]["env"]) == bool(destination)


def test_a_host_without_the_roles_inventory_entry_is_named() -> None:
    with pytest.raises(inventory_args.MissingInventory, match=r"10\.0\.0\.9 .* app role web"):
        release_args.release_args({"kdeploy_app_roles": {}}, "10.0.0.9", {"role": "web"})


IDENTITY = lambda value: value  # noqa: E731  (kdeploy's inventory holds data: nothing to template)
KDEPLOY_VARIABLES = {"kdeploy_version": "v7", "kdeploy_image": "registry.example/shop",
                     "kdeploy_service": "shop"}


def test_the_values_come_from_kdeploys_variables_with_the_roles_defaults() -> None:
    run = release_args.run_values({**KDEPLOY_VARIABLES, "kdeploy_slot_roles": {"h1": "jobs"},
                                   "app_role": "web", "app_deploy_timeout": 99}, "h1", {},
                                  IDENTITY)
    assert run == {
        "role": "jobs", "version": "v7", "repository": "registry.example/shop",
        "service": "shop", "destination": "", "performer": "ansible", "readiness_delay": 7,
        "deploy_timeout": 30, "stop_timeout": 30, "retain_containers": 5,
        "docker_host": "unix:///var/run/docker.sock", "proxy_host": None, "pull": "missing",
        "network": "kamal", "spec_label": "kdeploy.spec", "log_lines": 20}


def test_a_set_variable_wins_over_the_default_and_a_given_value_over_both() -> None:
    variables = {**KDEPLOY_VARIABLES, "kdeploy_retain_containers": None, "kdeploy_pull": "yes",
                 "kdeploy_drain_timeout": 5, "app_role": "web"}
    run = release_args.run_values(variables, "h1", {"performer": "ci"}, IDENTITY)
    # null keeps every stopped container (redeploy, rollback), as the role's `omit` does.
    assert (run["retain_containers"], run["pull"], run["stop_timeout"]) == (None, "always", 5)
    # No kdeploy_slot_roles entry for the host: the role's app_role.
    assert (run["role"], run["performer"]) == ("web", "ci")


def test_each_value_read_is_templated_once_and_nothing_else() -> None:
    seen = []

    def template(value):
        seen.append(value)
        return value.replace("{{ v }}", "v8") if isinstance(value, str) else value

    run = release_args.run_values({**KDEPLOY_VARIABLES, "kdeploy_version": "{{ v }}",
                                   "kdeploy_slot_roles": {"h1": "web"}}, "h1", {}, template)
    assert run["version"] == "v8"
    assert sorted(map(str, seen)) == sorted(map(str, [
        "{{ v }}", "registry.example/shop", "shop", False, {"h1": "web"}, "web"]))


@pytest.mark.parametrize(("variables", "message"), [
    ({"kdeploy_image": "i", "kdeploy_service": "s"}, "h1 has no kdeploy_version"),
    ({**KDEPLOY_VARIABLES, "kdeploy_slot_roles": {"h2": "web"}},
     "h1 has no role to boot: kdeploy_slot_roles does not name it"),
])
def test_a_missing_variable_is_named(variables: dict[str, Any], message: str) -> None:
    with pytest.raises(inventory_args.MissingInventory, match=message):
        release_args.run_values(variables, "h1", {}, IDENTITY)


# The role's variable behind each value that run_values reads (roles/app/defaults/main.yml).
ROLE_VARIABLE = {"version": "app_version", "repository": "app_repository",
                 "service": "app_service", "destination": "app_destination",
                 "performer": "app_performer", "readiness_delay": "app_readiness_delay",
                 "deploy_timeout": "app_deploy_timeout", "stop_timeout": "app_drain_timeout",
                 "retain_containers": "app_retain_containers", "docker_host": "app_docker_host",
                 "proxy_host": "app_host_proxy", "network": "app_network",
                 "spec_label": "app_spec_label", "log_lines": "app_log_lines"}


def test_the_plugins_defaults_are_the_roles() -> None:
    # Each role default, rendered without its kdeploy_* variable, is run_values' default, and
    # names the variable run_values reads.
    from jinja2.nativetypes import NativeEnvironment
    defaults = yaml.safe_load((REPO / "roles" / "app" / "defaults" / "main.yml").read_text())
    environment = NativeEnvironment()
    for key, variable, default in release_args.FROM_VARIABLES:
        text = defaults[ROLE_VARIABLE[key]]
        assert variable in text, (key, text)
        if default is not release_args.REQUIRED:
            assert environment.from_string(text).render(app_proxy=False) == default, key
        assert environment.from_string(text).render(**{variable: 42, "app_proxy": False}) == 42
    for key, value in release_args.FIXED.items():
        assert defaults[ROLE_VARIABLE[key]] == value, key
    assert set(ROLE_VARIABLE) == {key for key, _, _ in release_args.FROM_VARIABLES} | set(
        release_args.FIXED)
