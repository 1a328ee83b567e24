# MIT License (kdeploy)
"""kdeploy.deploy.accessory_boot's arguments, worked out on the controller from kdeploy's inventory.

roles/accessory/vars/main.yml derives the same arguments in Jinja, from kdeploy's inventory or
from the role's accessory_* variables (a play of your own); templating the spec's nested
expressions is most of what the boot task costs the controller. kdeploy's own plays
(roles/accessory/tasks/boot.yml) give the action plugin the few plain values and let it build
the rest here, in plain Python, as release_args.py does for the app.

Secrets are read here from the controller's environment, where kdeploy's runner puts them, as
the role's `lookup('ansible.builtin.env', ...)` does. Nothing here is templated: the values go
to the module as they are. tests/unit/playbooks/test_kdeploy_accessory_boot.py proves that both
ways give the module the same arguments.
"""

from __future__ import annotations

import os

from ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args import (
    MissingInventory,
)

# The module's options that a task passes as they are (cheap, plain variables).
PASSED = ("spec_label", "network", "deploy_timeout", "docker_host")


def accessory_args(inventory, host, run, environ=None):
    """The module's arguments for the accessory `run["accessory"]` on `host`.

    Args:
        inventory: the host's variables from kdeploy's inventory (kdeploy_accessories,
            kdeploy_registry).
        host: the inventory hostname.
        run: the task's plain values: accessory, destination, performer,
            service_with_destination, and the PASSED options.
        environ: where the secrets are (the controller's environment by default).

    Raises:
        MissingInventory: the inventory has no entry for the accessory.
    """
    environ = os.environ if environ is None else environ
    name = run["accessory"]
    config = (inventory.get("kdeploy_accessories") or {}).get(name)
    if config is None:
        raise MissingInventory(
            f"{host} has no kdeploy inventory entry for the accessory {name} "
            "(kdeploy_accessories): tasks_from boot is for kdeploy's own inventory; a play of "
            "your own imports the role's main tasks")
    args = {key: run[key] for key in PASSED if run.get(key) is not None}
    args.update(
        accessory=name, host=host, config=config, spec=accessory_spec(config, host),
        env_secrets={key: environ.get(variable, "")
                     for key, variable in (config.get("secret_env") or {}).items()},
        audit={"log": f".kamal/{run['service_with_destination']}-audit.log",
               "tags": [run["performer"], run["destination"] or ""]},
    )
    registry = config.get("registry") or inventory.get("kdeploy_registry")
    if isinstance(registry, dict) and registry.get("password_env") is not None:
        username = registry["username"] if registry.get("username_env") is None \
            else environ.get(registry["username_env"], "")
        args["registry"] = {"server": registry["server"], "username": username,
                            "password": environ.get(registry["password_env"], "")}
        args["registry_password_env"] = registry["password_env"]
    return args


def accessory_spec(config, host):
    """The same keys and values as the role's __accessory_spec: its sha1 is the spec label."""
    env = {key: str(value) for key, value in (config.get("env") or {}).items()}
    env["KAMAL_HOST"] = host
    log_options = config.get("log_options") or {}
    docker_args = config.get("docker_args") or []
    return {
        "format": 1,
        "name": config["service_name"],
        "image": config["image"],
        "cmd": config["cmd"],
        "env": env,
        "env_file": config["env_file"],
        "labels": {key: str(value) for key, value in config["labels"].items()},
        "network": config["network"],
        "published_ports": config["published_ports"],
        "volumes": config.get("volumes") or [],
        "directory_mounts": _mounts(config.get("directories")),
        "file_mounts": _mounts(config.get("files")),
        "restart_policy": config["restart_policy"],
        # With log options and no driver: the daemon's default, as the spec has always said.
        "log_driver": config.get("log_driver") or ("json-file" if log_options else None),
        "log_options": log_options,
        # Without options: {} (the format-1 value of the time they were docker_container's).
        "docker": docker_args if docker_args else {},
    }


def _mounts(entries):
    # `path:mount[:options]`, paths relative to the home directory as configured.
    return [entry["path"] + ":" + ":".join(part for part in (entry["mount"], entry.get("options"))
                                           if part)
            for entry in entries or []]
