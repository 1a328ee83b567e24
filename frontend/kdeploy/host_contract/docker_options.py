"""Translate Kamal's `options:` (docker run flags) into community.docker.docker_container options.

Kamal passes `options:` straight to `docker run` as `--key value`. docker_container takes named
parameters instead, so each flag is translated here, once; a flag we cannot translate is a
config error naming its key, never a silent drop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kdeploy.config import defaults
from kdeploy.config.values import ruby_str
from kdeploy.errors import ConfigError


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _as_str(value: Any) -> str:
    return str(value)


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _as_mapping(separator: str) -> Callable[[Any], dict[str, str]]:
    def convert(value: Any) -> dict[str, str]:
        pairs = (item.split(separator, 1) for item in _as_list(value))
        return {key: rest for key, rest in pairs}

    return convert


# docker run flag -> (docker_container parameter, converter)
_FLAGS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "memory": ("memory", _as_str),
    "memory-reservation": ("memory_reservation", _as_str),
    "memory-swap": ("memory_swap", _as_str),
    "cpus": ("cpus", float),
    "cpu-shares": ("cpu_shares", int),
    "cap-add": ("capabilities", _as_list),
    "cap-drop": ("cap_drop", _as_list),
    "add-host": ("etc_hosts", _as_mapping(":")),
    "device": ("devices", _as_list),
    "ulimit": ("ulimits", _as_list),
    "user": ("user", _as_str),
    "workdir": ("working_dir", _as_str),
    "privileged": ("privileged", _as_bool),
    "init": ("init", _as_bool),
    "read-only": ("read_only", _as_bool),
    "shm-size": ("shm_size", _as_str),
    "tmpfs": ("tmpfs", _as_list),
    "sysctl": ("sysctls", _as_mapping("=")),
    "security-opt": ("security_opts", _as_list),
    "pid": ("pid_mode", _as_str),
    "ipc": ("ipc_mode", _as_str),
    "stop-signal": ("stop_signal", _as_str),
    "entrypoint": ("entrypoint", _as_list),
    "publish": ("published_ports", _as_list),
    "expose": ("exposed_ports", _as_list),
    "dns": ("dns_servers", _as_list),
}

_HEALTH_FLAGS = {
    "health-cmd": "test",
    "health-interval": "interval",
    "health-timeout": "timeout",
    "health-retries": "retries",
    "health-start-period": "start_period",
}


def translate_options(options: Mapping[str, Any], context: str) -> dict[str, Any]:
    """Return docker_container parameters for a role's or accessory's `options:` hash.

    Args:
        options: Kamal's options hash, e.g. ``{"memory": "1g", "cap-add": ["NET_ADMIN"]}``.
        context: the key path for messages, e.g. ``servers/web/options``.

    Raises:
        ConfigError: for a flag kdeploy cannot express through docker_container.
    """
    params: dict[str, Any] = {}
    healthcheck: dict[str, Any] = {}
    for flag, value in options.items():
        if flag == "restart":
            # The policy itself is the task's restart_policy (container_restart_policy); only
            # on-failure:N's count is a docker_container parameter of its own.
            _, _, retries = str(value).partition(":")
            if retries:
                params["restart_retries"] = int(retries)
        elif flag in _HEALTH_FLAGS:
            healthcheck[_HEALTH_FLAGS[flag]] = value
        elif flag in _FLAGS:
            name, convert = _FLAGS[flag]
            params[name] = convert(value)
        else:
            raise ConfigError(f"{context}/{flag}: kdeploy cannot pass this docker option yet")
    if healthcheck:
        test = healthcheck.get("test")
        if test is not None:
            healthcheck["test"] = ["CMD-SHELL", str(test)]
        if "retries" in healthcheck:
            healthcheck["retries"] = int(healthcheck["retries"])
        params["healthcheck"] = healthcheck
    return params


def docker_run_args(options: Mapping[str, Any]) -> list[str]:
    """Return Kamal's `docker run` flags for a role's `options:` (`Kamal::Utils.optionize`).

    Each key becomes `--key value` (one pair per list item); `true` is a bare `--key`. `restart`
    is left out: it is the container's restart policy (`restart_policy`).
    """
    args: list[str] = []
    for flag, value in options.items():
        if flag == "restart":
            continue
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{flag}"] if item is True else [f"--{flag}", ruby_str(item)]
    return args


def restart_policy(options: Mapping[str, Any]) -> str:
    """`docker run --restart`: `options: {restart: …}` (Kamal 2.12), else `unless-stopped`."""
    return str(options.get("restart") or defaults.RESTART_POLICY)


def container_restart_policy(options: Mapping[str, Any]) -> str:
    """docker_container's restart_policy: the policy without on-failure's `:N` (restart_retries)."""
    return restart_policy(options).partition(":")[0]
