"""`options:` of a role or an accessory as the `docker run` flags Kamal passes (`optionize`).

Kamal passes `options:` straight through: each key becomes `--key value`, one pair per list item,
`true` a bare `--key`; `restart` is the container's `--restart` policy instead (Kamal 2.12). This
is the one builder of those flags: the config validator runs it when the config loads, and the
inventory (apps, accessories) and `accessory exec` use its result, so what `kdeploy config`
accepts is exactly what a deploy passes to docker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kdeploy.config import defaults
from kdeploy.config.values import ruby_str
from kdeploy.errors import ConfigError

# Docker's long flag names: lowercase words joined by dashes (`network-alias`, `shm-size`).
_FLAG_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_VALUE_TYPES = (str, int, float, bool)


def option_args(options: Mapping[Any, Any], context: str) -> list[str]:
    """Return the `docker run` flags of an `options:` hash, Kamal's `option_args`.

    Values reach docker as argv items, never through a shell: a value with spaces or quotes is
    one argument, as Kamal's shell escaping makes it.

    Args:
        options: the `options:` hash, e.g. ``{"gpus": "all", "cap-add": ["NET_ADMIN"]}``.
        context: the key path for messages, e.g. ``accessories/db/options``.

    Raises:
        ConfigError: a key that cannot be a docker flag, or a value docker cannot take after it.
    """
    args: list[str] = []
    for key, value in options.items():
        flag = ruby_str(key)
        if flag == "restart":
            continue
        if not isinstance(key, str) or not _FLAG_NAME.fullmatch(flag):
            raise ConfigError(f"{context}/{flag}: not a docker run flag name "
                              "(lowercase letters, digits and dashes, as in `shm-size`)")
        for item in value if isinstance(value, list) else [value]:
            args += _flag(flag, item, f"{context}/{flag}")
    return args


def _flag(flag: str, value: Any, context: str) -> list[str]:
    if value is True:
        return [f"--{flag}"]
    if value is False:
        # Kamal would pass `--flag false`: docker takes a boolean flag alone and reads `false`
        # as the image name.
        raise ConfigError(f"{context}: false cannot be passed to docker run; leave the option out")
    if not isinstance(value, _VALUE_TYPES):
        raise ConfigError(f"{context}: should be a string, a number or true, or a list of them")
    return [f"--{flag}", ruby_str(value)]


def restart_policy(options: Mapping[Any, Any]) -> str:
    """`docker run --restart`: `options: {restart: …}` (Kamal 2.12), else `unless-stopped`."""
    return str(options.get("restart") or defaults.RESTART_POLICY)
