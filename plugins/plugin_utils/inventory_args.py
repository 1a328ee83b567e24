# MIT License (kdeploy)
"""A module's arguments, built on the controller from kdeploy's inventory when the task asks.

kdeploy's own plays give kdeploy.deploy.release and kdeploy.deploy.accessory_boot the option
`from_inventory`: a few plain values, from which and the host's inventory the action plugin
builds the module's arguments (release_args.py, accessory_args.py) instead of having Ansible
template them from the role's variables. Without it the task's arguments go to the module as
they are; the two plugins share that choice, and its failure, here.
"""

from __future__ import annotations


class MissingInventory(Exception):
    """The play has no kdeploy inventory entry for what the task boots on this host."""


def module_args(task_args, task_vars, build):
    """The module's arguments: the task's own, or those `build` makes from `from_inventory`.

    Args:
        task_args: the task's arguments (not changed).
        task_vars: the host's variables, kdeploy's inventory among them.
        build: release_args or accessory_args: (inventory, host, run) -> the module's arguments.

    Raises:
        MissingInventory: `build` found no inventory entry for this host.
    """
    args = dict(task_args)
    run = args.pop("from_inventory", None)
    if run is None:
        return args
    return build(task_vars, task_vars.get("inventory_hostname", "?"), run)
