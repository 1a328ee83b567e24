# MIT License (kdeploy)
"""kdeploy.deploy.release's arguments, worked out on the controller from kdeploy's inventory.

roles/app/vars/main.yml derives the same arguments in Jinja, from kdeploy's inventory or from
the role's app_* variables (a play of your own). Templating those nested expressions cost the
controller about 0.12 s of CPU per host and release, most of a deploy's cost per host
(docs/performance.md), so kdeploy's own plays (roles/app/tasks/release.yml) give the action
plugin the few plain values and let it build the rest here, in plain Python.

The task gives no templates either (`from_inventory: {}`): `run_values` reads the release's plain
values (version, image, timeouts, ...) from kdeploy's own variables, with the role's defaults,
where the role's `app_*` variables would template them from those same variables (two templates
each, compiled again in every worker: most of a release worker's CPU).

Secrets are read here from the controller's environment, where kdeploy's runner puts them, as
the role's `lookup('ansible.builtin.env', ...)` does. Nothing here is templated: the values go
to the module as they are. tests/unit/playbooks/test_release_args.py proves that both ways give
the module the same arguments.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args import (
    MissingInventory,
)

# The release module's options that a task passes as they are (cheap, plain variables).
PASSED = ("pull", "service", "spec_label", "readiness_delay", "deploy_timeout", "stop_timeout",
          "log_lines", "retain_containers", "docker_host", "proxy_host")


# The plain values a release takes from kdeploy's variables: value, variable, and the role's
# default (roles/app/defaults/main.yml) when the variable is not set; REQUIRED has none.
REQUIRED = object()
FROM_VARIABLES = (
    ("version", "kdeploy_version", REQUIRED),
    ("repository", "kdeploy_image", REQUIRED),
    ("service", "kdeploy_service", REQUIRED),
    ("destination", "kdeploy_destination", ""),
    ("performer", "kdeploy_performer", "ansible"),
    ("readiness_delay", "kdeploy_readiness_delay", 7),
    ("deploy_timeout", "kdeploy_deploy_timeout", 30),
    ("stop_timeout", "kdeploy_drain_timeout", 30),
    ("retain_containers", "kdeploy_retain_containers", 5),
    ("docker_host", "kdeploy_docker_host", "unix:///var/run/docker.sock"),
    ("proxy_host", "kdeploy_proxy", None),
)
# The role's defaults that no kdeploy variable sets.
FIXED = {"network": "kamal", "spec_label": "kdeploy.spec", "log_lines": 20}


def run_values(variables, host, given, template):
    """The release's plain values: `given`, and the rest from kdeploy's variables.

    Args:
        variables: the host's variables.
        host: the inventory hostname.
        given: the task's `from_inventory` (these win).
        template: Ansible's templar.template, for a variable that is itself a template (kdeploy's
            inventory holds data: it returns those as they are).

    Raises:
        MissingInventory: a variable without a default is not set, or no role is named.
    """
    run = dict(FIXED)
    for key, variable, default in FROM_VARIABLES:
        if variable in variables:
            run[key] = template(variables[variable])
        elif default is not REQUIRED:
            run[key] = default
        elif key not in given:
            raise MissingInventory(
                f"{host} has no {variable}: tasks_from release is for kdeploy's own inventory; "
                "a play of your own imports the role's main tasks")
    run["pull"] = "always" if boolean(template(variables.get("kdeploy_pull", False))) \
        else "missing"
    # kdeploy's boot plays name each host's role in the task's kdeploy_slot_roles.
    slot_roles = template(variables.get("kdeploy_slot_roles")) or {}
    role = slot_roles.get(host, variables.get("app_role"))
    if role is not None:
        run["role"] = template(role)
    run.update(given)
    if run.get("role") is None:
        raise MissingInventory(f"{host} has no role to boot: kdeploy_slot_roles does not name it "
                               "and app_role is not set")
    return run


def release_args(inventory, host, run, environ=None):
    """The module's arguments (all but the barrier) for `run["role"]` on `host`.

    Args:
        inventory: the host's variables from kdeploy's inventory (kdeploy_app_roles,
            kdeploy_app_env, kdeploy_registry, kdeploy_error_pages,
            kdeploy_service_with_destination).
        host: the inventory hostname.
        run: the task's plain values: role, version, repository, destination, performer,
            network, and the PASSED options.
        environ: where the secrets are (the controller's environment by default).

    Raises:
        MissingInventory: the inventory has no entry for the role, or none for this host.
    """
    environ = os.environ if environ is None else environ
    role = run["role"]
    config = (inventory.get("kdeploy_app_roles") or {}).get(role)
    host_env = (inventory.get("kdeploy_app_env") or {}).get(role)
    if config is None or host_env is None:
        raise MissingInventory(
            f"{host} has no kdeploy inventory entry for the app role {role} "
            "(kdeploy_app_roles, kdeploy_app_env): tasks_from release is for kdeploy's own "
            "inventory; a play of your own imports the role's main tasks")
    version, destination = str(run["version"]), run["destination"] or ""
    name = f"{config['container_prefix']}-{version}"
    args = {key: run[key] for key in PASSED if run.get(key) is not None}
    args.update(
        spec=_spec(config, host_env, host, name, run),
        env_secrets={key: environ.get(variable, "")
                     for key, variable in (host_env.get("secret_env") or {}).items()},
        role_labels={"service": run["service"], "destination": destination, "role": role},
        latest_tag=f"{run['repository']}:latest" + (f"-{destination}" if destination else ""),
        audit={"log": f".kamal/{inventory['kdeploy_service_with_destination']}-audit.log",
               "tags": [run["performer"], destination, role]},
        files=_files(config, inventory.get("kdeploy_error_pages"), version, environ),
    )
    registry = _registry_login(inventory.get("kdeploy_registry"), environ)
    if registry is not None:
        args["registry"] = registry
    if config.get("proxy") is not None:
        args["proxy"] = config["proxy"]
    return args


def _spec(config, host_env, host, name, run):
    # The same keys and values as the role's __app_spec: its sha1 is the container's spec label.
    destination = run["destination"] or ""
    env = {key: str(value) for key, value in (host_env.get("clear") or {}).items()}
    env.update(KAMAL_CONTAINER_NAME=name, KAMAL_VERSION=str(run["version"]), KAMAL_HOST=host)
    if destination:
        env["KAMAL_DESTINATION"] = destination
    return {
        "format": 2,
        "name": name,
        "image": f"{run['repository']}:{run['version']}",
        "cmd": config["cmd"],
        "hostname": _hostname(host, name),
        "env": env,
        "env_file": config["env_file"],
        "labels": {key: str(value) for key, value in config["labels"].items()},
        "network": run["network"],
        "volumes": config["volumes"],
        "restart_policy": config["restart_policy"],
        "log_driver": config["log_driver"],
        "log_options": config["log_options"],
        "docker_args": config["docker_args"],
    }


def _hostname(host, name):
    # Kamal's <host[0,51]>-<12 hex>, stable: a hash of host and container name (roles/app/vars).
    digest = hashlib.sha1(f"{host}/{name}".encode()).hexdigest()[:12]
    return f"{re.sub(r'[.]$', '', host[:51])}-{digest}"


def _registry_login(registry, environ):
    # kdeploy_registry names the environment variables that carry the login; none: no login.
    if not isinstance(registry, dict) or registry.get("password_env") is None:
        return None
    username = registry["username"] if registry.get("username_env") is None \
        else environ.get(registry["username_env"], "")
    return {"server": registry["server"], "username": username,
            "password": environ.get(registry["password_env"], "")}


def _files(config, error_pages, version, environ):
    # The role's TLS certificate and key (from secrets), then the version's error pages.
    files = []
    tls = (config.get("proxy") or {}).get("tls")
    if tls:
        for name in ("certificate", "private_key"):
            files.append({"path": tls[f"{name}_path"], "mode": "0644",
                          "content": environ.get(tls[f"{name}_pem_env"], "")})
    if error_pages and config.get("proxy"):
        pages = [page for pattern in ("4??.html", "5??.html")
                 for page in glob.glob(os.path.join(error_pages["source"], pattern))
                 if os.path.isfile(page)]
        for page in sorted(pages):
            with open(page, encoding="utf-8") as handle:
                content = handle.read()
            files.append({"path": f"{error_pages['directory']}/{version}/{os.path.basename(page)}",
                          "content": content, "mode": "0644", "directory_mode": "0755"})
    return files
