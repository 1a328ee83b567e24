"""Kamal's ``last_pass`` (``lastpass``) adapter: ``lpass show NAMES --json``."""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import inspect_list


class LastPass(Adapter):
    """Needs ``--account`` (the LastPass user); logs in unless ``lpass status`` names it."""

    cli = ("lpass", "--version")
    cli_name = "LastPass"

    def login(self, account: str | None) -> str | None:
        """``lpass login ACCOUNT`` unless already logged in as ACCOUNT."""
        status = self.run(["lpass", "status", "--color", "never"]).stdout.strip()
        logged_in = status == f"Logged in as {account}."
        if not logged_in and not self.run(["lpass", "login", str(account)]).ok:
            raise AdapterError("Failed to login to LastPass")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """One ``lpass show`` for all names; each must come back by its full name."""
        secrets = prefixed_secrets(secrets, from_)
        output = self.run(["lpass", "show", *secrets, "--json"])
        if not output.ok:
            raise AdapterError(f"Could not read {inspect_list(secrets)} from LastPass")
        results = {item.get("fullname"): item.get("password")
                   for item in _items(parse_json(output.stdout, "lpass show"))}
        missing = [secret for secret in secrets if secret not in results]
        if missing:
            raise AdapterError(f"Could not find {', '.join(missing)} in LastPass")
        return results


def _items(parsed: Any) -> list[dict[str, Any]]:
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise AdapterError("`lpass show` did not print a list of items")
    return parsed
