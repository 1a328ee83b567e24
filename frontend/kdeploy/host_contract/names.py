"""The names the playbooks know kdeploy's data by: inventory groups, secret variables, labels.

Group and variable names hold only letters, digits and `_`, whatever the config's role, accessory
or secret names hold, so kdeploy can write them into `when:` conditions and environment variables.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

# The inventory group of the hosts that run the proxy.
PROXY_GROUP = "kdeploy_proxy"
# The label that says which destination an accessory container belongs to (destination_check.yml).
DESTINATION_LABEL = "kdeploy.destination"


def role_group(role_name: str) -> str:
    """Return the inventory group of a Kamal role (letters, digits and `_` only)."""
    return "role_" + _UNSAFE.sub("_", role_name)


def accessory_group(name: str) -> str:
    """Return the inventory group of an accessory."""
    return "accessory_" + _UNSAFE.sub("_", name)


def secret_env_var(secret_name: str) -> str:
    """Return the environment variable that carries a secret to the playbooks."""
    return "KDEPLOY_SECRET_" + _UNSAFE.sub("_", secret_name).upper()
