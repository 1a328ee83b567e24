# MIT License (kdeploy)
"""kdeploy.deploy.accessory_boot on the controller: its arguments built from kdeploy's inventory.

With `from_inventory` (roles/accessory/tasks/boot.yml, kdeploy's own plays) the plugin builds the
module's arguments from kdeploy's inventory (plugins/plugin_utils/accessory_args.py) instead of
having Ansible template them from the role's variables. Without it (boot_from_vars.yml, the
role's `main` entry point) the task's arguments go to the module as they are.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.accessory_args import accessory_args
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.inventory_args import (
    MissingInventory,
    module_args,
)


class ActionModule(ActionBase):
    """Run kdeploy.deploy.accessory_boot, its arguments from the inventory when asked."""

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        """The module's result."""
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            args = module_args(self._task.args, task_vars, accessory_args)
        except MissingInventory as error:
            return dict(result, failed=True, changed=False, msg=str(error))
        result.update(self._execute_module(module_args=args, task_vars=task_vars))
        return result
