# MIT License (kdeploy)
"""kdeploy.deploy.accessory_boot on the controller: its arguments built from kdeploy's inventory.

With `from_inventory` (roles/accessory/tasks/boot.yml, kdeploy's own plays) the plugin builds the
module's arguments from kdeploy's inventory (plugins/plugin_utils/accessory_args.py) instead of
having Ansible template them from the role's variables. Without it (boot_from_vars.yml, the
role's `main` entry point) the task's arguments go to the module as they are.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.accessory_args import (
    MissingInventory,
    accessory_args,
)


class ActionModule(ActionBase):
    """Run kdeploy.deploy.accessory_boot, its arguments from the inventory when asked."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        """The module's result."""
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        run = args.pop("from_inventory", None)
        if run is not None:
            try:
                args = accessory_args(task_vars, task_vars.get("inventory_hostname", "?"), run)
            except MissingInventory as error:
                result.update(failed=True, changed=False, msg=str(error))
                return result
        result.update(self._execute_module(module_args=args, task_vars=task_vars))
        return result
