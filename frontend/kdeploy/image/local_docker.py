"""The local docker client: `docker login` / `docker logout` on this machine, as Kamal does.

Kamal runs `docker login <server> -u <user> -p <password>` locally before a build and in
`kamal registry login`; kdeploy runs the same login with the password on stdin
(`--password-stdin`), so it never appears in argv (`ps`) or in any output.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence

from kdeploy.config import Config, Registry
from kdeploy.errors import DeployFailed, UsageError

# Long enough for a slow registry, short enough that a hung daemon does not hang kdeploy.
_TIMEOUT = 120


def registry_credentials(config: Config, registry: Registry | None = None) -> tuple[str, str]:
    """The username and password of a registry (secrets looked up in `.kamal/secrets`).

    Raises:
        ConfigError: a secret is missing from the secrets files.
        UsageError: the registry has no username or password at all.
    """
    registry = registry or config.registry
    username = _value(config, registry.username, registry.username_secret)
    password = _value(config, registry.password, registry.password_secret)
    if not username or password is None:
        raise UsageError(f"registry {registry.server or 'Docker Hub'}: no username or password "
                         "to log in with")
    return username, password


def docker_login(registry: Registry, username: str, password: str,
                 env: Mapping[str, str] | None = None) -> None:
    """`docker login [<server>] -u <username> --password-stdin` on this machine.

    Raises:
        UsageError: docker is not installed locally.
        DeployFailed: docker refused the login (its message, the password never in it).
    """
    argv = _docker("login", *_server(registry), "-u", username, "--password-stdin")
    _run(argv, f"Local docker login to {registry.server or 'Docker Hub'} failed",
         stdin=password, secret=password, env=env)


def docker_logout(registry: Registry, env: Mapping[str, str] | None = None) -> None:
    """`docker logout [<server>]` on this machine (Kamal's local `registry logout`).

    Raises:
        UsageError: docker is not installed locally.
        DeployFailed: docker failed.
    """
    _run(_docker("logout", *_server(registry)),
         f"Local docker logout from {registry.server or 'Docker Hub'} failed", env=env)


def _value(config: Config, value: str | None, secret: str | None) -> str | None:
    if secret is None:
        return value
    if config.secrets is None:
        raise UsageError(f"No secrets file to read {secret} from")
    return config.secrets[secret]


def _server(registry: Registry) -> list[str]:
    # Kamal's `docker login <server>`: a nil server (Docker Hub) is left out.
    return [registry.server] if registry.server else []


def _docker(*args: str) -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        raise UsageError("Docker is not installed locally")
    return [docker, *args]


def _run(argv: Sequence[str], failure: str, stdin: str | None = None, secret: str | None = None,
         env: Mapping[str, str] | None = None) -> None:
    try:
        result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                                timeout=_TIMEOUT, check=False,
                                env=dict(env) if env is not None else None)
    except subprocess.TimeoutExpired:
        raise DeployFailed(f"{failure}: no answer within {_TIMEOUT} seconds") from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        text = message[-1] if message else f"exit code {result.returncode}"
        if secret:
            text = text.replace(secret, "[REDACTED]")
        raise DeployFailed(f"{failure}: {text}")
