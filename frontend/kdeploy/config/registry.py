"""`registry:` for the app image, or for one accessory (Kamal's Configuration::Registry)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.ruby import present
from kdeploy.config.validation import Validator
from kdeploy.config.values import ruby_str

# Kamal's `match?("^localhost[:$]")`: `localhost:5000` is local, a bare `localhost` is not.
_LOCAL = re.compile(r"^localhost[:$]", re.MULTILINE)
_CREDENTIALS = ("username", "password")


@dataclass(frozen=True)
class Registry:
    """Where images are pushed and pulled, and how to log in (values or secret names)."""

    server: str | None = None
    username: str | None = None
    username_secret: str | None = None
    password: str | None = None
    password_secret: str | None = None

    @property
    def local(self) -> bool:
        """A `localhost:PORT` registry: Kamal runs it locally and forwards the port over SSH."""
        return is_local_server(self.server)

    @property
    def secret_names(self) -> tuple[str, ...]:
        """The secrets the login reads: the username and password given as `[NAME]`."""
        return tuple(name for name in (self.username_secret, self.password_secret) if name)

    @property
    def login_secret_names(self) -> tuple[str, ...]:
        """The secrets a host needs to log in (none for a local registry: Kamal logs in to none)."""
        return () if self.local else self.secret_names

    @property
    def local_port(self) -> int | None:
        """The port of a local registry."""
        return int(self.server.rsplit(":", 1)[-1] or 80) if self.local and self.server else None


def is_local_server(server: Any) -> bool:
    """Whether a registry server is Kamal's local registry (`localhost:PORT`)."""
    return server is not None and bool(_LOCAL.search(ruby_str(server)))


def validate_registry(raw: Any, context: str = "registry") -> None:
    """Check a registry hash; username and password are required unless it is local."""
    validator = Validator(context)
    validator.of_type(raw, "hash")
    schema = {k: v for k, v in example("registry")["registry"].items() if k not in _CREDENTIALS}
    validator.against_example({k: v for k, v in raw.items() if k not in _CREDENTIALS}, schema)
    if is_local_server(raw.get("server")):
        return
    for key in _CREDENTIALS:
        with validator.within(key):
            value = raw.get(key)
            if not present(value):
                validator.error("is required")
            if not (isinstance(value, str) or _one_string_array(value)):
                validator.error(
                    "should be a string or an array with one string (for secret lookup)")


def build_registry(raw: dict[str, Any]) -> Registry:
    """Build a Registry from a validated hash (`[NAME]` means: look NAME up in the secrets)."""
    username, username_secret = _value_or_secret(raw.get("username"))
    password, password_secret = _value_or_secret(raw.get("password"))
    server = raw.get("server")
    return Registry(
        server=ruby_str(server) if server is not None else None,
        username=username, username_secret=username_secret,
        password=password, password_secret=password_secret,
    )


def _one_string_array(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)


def _value_or_secret(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, list):
        return None, ruby_str(value[0]) if value else None
    return (ruby_str(value) if value is not None else None), None
