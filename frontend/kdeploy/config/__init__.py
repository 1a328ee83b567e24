"""Kamal 2 deploy config: load, validate, and model it as frozen objects.

Downstream code (inventory, plan) uses only what is exported here.
"""

from __future__ import annotations

from kdeploy.config.accessory import Accessory, AccessoryDirectory, AccessoryFile
from kdeploy.config.boot import Boot
from kdeploy.config.builder import Builder
from kdeploy.config.env import Env
from kdeploy.config.extension import KdeployExtension
from kdeploy.config.load import load_config
from kdeploy.config.logging import Logging
from kdeploy.config.model import Config
from kdeploy.config.proxy import Proxy
from kdeploy.config.registry import Registry
from kdeploy.config.role import Role
from kdeploy.config.ssh import Ssh, Sshkit

__all__ = [
    "Accessory", "AccessoryDirectory", "AccessoryFile", "Boot", "Builder", "Config", "Env",
    "KdeployExtension", "Logging", "Proxy", "Registry", "Role", "Ssh", "Sshkit", "load_config",
]
