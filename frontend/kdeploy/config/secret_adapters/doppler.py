"""Kamal's ``doppler`` adapter: one ``doppler secrets get NAMES --json``.

Names are ``PROJECT/CONFIG/NAME`` (or ``--from PROJECT/CONFIG`` and bare names); with a
service token in DOPPLER_TOKEN (``dp.st...``) the token picks the project and config.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import inspect_list, split


class Doppler(Adapter):
    """No ``--account``; ``doppler login -y`` unless ``doppler me`` works."""

    requires_account = False
    cli = ("doppler", "--version")
    cli_name = "Doppler"

    def login(self, account: str | None) -> str | None:
        """Log in unless already logged in."""
        logged_in = self.run(["doppler", "me", "--json"], quiet=True).ok
        if not logged_in and not self.run(["doppler", "login", "-y"]).ok:
            raise AdapterError("Failed to login to Doppler")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """Each secret's ``computed`` value, by its name."""
        secrets = prefixed_secrets(secrets, from_)
        names = [(split(secret, "/") or [""])[-1] for secret in secrets]
        output = self.run(["doppler", "secrets", "get", *names, "--json", *self._flags(secrets)])
        if not output.ok:
            raise AdapterError(f"Could not read {inspect_list(secrets)} from Doppler")
        items = parse_json(output.stdout, "doppler secrets get")
        if not isinstance(items, dict):
            raise AdapterError("`doppler secrets get` did not print an object")
        return {name: value.get("computed") if isinstance(value, dict) else None
                for name, value in items.items()}

    def _flags(self, secrets: list[str]) -> list[str]:
        token = self.run.env("DOPPLER_TOKEN")
        if token and token.startswith("dp.st"):
            return []
        parts = split(secrets[0], "/") if secrets else []
        if len(parts) < 2:
            raise AdapterError("Missing project or config from '--from=project/config' option")
        return ["-p", parts[0], "-c", parts[1]]
