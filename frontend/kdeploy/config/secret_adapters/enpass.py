"""Kamal's ``enpass`` adapter: ``enpass-cli -json -vault VAULT show TITLES``.

Enpass is offline: ``--from`` is the vault's directory and there is no account. Names are
``TITLE`` (every password of that item, keyed ``TITLE/LABEL``) or ``TITLE/LABEL``.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import Adapter, AdapterError, parse_json
from kdeploy.config.secret_adapters.ruby_text import blank


class Enpass(Adapter):
    """No account, no login."""

    requires_account = False
    cli = ("enpass-cli", "version")
    cli_name = "Enpass"

    def login(self, account: str | None) -> str | None:
        """Nothing to log in to."""
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """One ``show`` for every item title; each password whose title or key was asked for."""
        if from_ is None:
            raise AdapterError("Enpass needs --from: the path of the vault")
        titles = list(dict.fromkeys(
            secret.rpartition("/")[0] or secret.rpartition("/")[2] for secret in secrets))
        # Kamal does not check this exit status: what the CLI printed is read regardless.
        output = self.run(["enpass-cli", "-json", "-vault", from_, "show", *titles])
        items = parse_json(output.stdout.strip(), "enpass-cli show")
        results: dict[str, Any] = {}
        for item in items if isinstance(items, list) else ():
            title, label, password = item.get("title"), item.get("label"), item.get("password")
            if title is None or title is False or blank(password):
                continue
            key = "/".join(part for part in (title, label) if part)
            if title in secrets or key in secrets:
                if key in results:
                    raise AdapterError(f"{key} is present more than once")
                results[key] = password
        return results
