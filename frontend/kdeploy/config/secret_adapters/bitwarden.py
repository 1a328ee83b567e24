"""Kamal's ``bitwarden`` adapter: ``bw get item`` per item, unlocking the vault if needed.

Names are ``ITEM`` (its login password, else all its custom fields) or ``ITEM/FIELD``.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    Output,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import blank, split


class Bitwarden(Adapter):
    """Needs ``--account`` (the e-mail for ``bw login``)."""

    cli = ("bw", "--version")
    cli_name = "Bitwarden"

    def login(self, account: str | None) -> str | None:
        """Log in and unlock as ``bw status`` requires; sync; return the session (if unlocked)."""
        session = None
        status = self._status(None)
        if status == "unauthenticated":
            self._bw(["login", str(account)], None)
            status = self._status(None)
        if status == "locked":
            unlocked = self._bw(["unlock", "--raw"], None).stdout.strip()
            session = None if blank(unlocked) else unlocked
            status = self._status(session)
        if status != "unlocked":
            raise AdapterError("Failed to login to and unlock Bitwarden")
        if not self._bw(["sync"], session).ok:
            raise AdapterError("Failed to sync Bitwarden")
        return session

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """One ``bw get item`` per item; fields as named, else the password, else all fields."""
        results: dict[str, Any] = {}
        for item, fields in _items_fields(prefixed_secrets(secrets, from_)).items():
            output = self._bw(["get", "item", item], session)
            if not output.ok:
                raise AdapterError(f"Could not read {item} from Bitwarden")
            item_json = parse_json(output.stdout.strip(), "bw get item")
            if not isinstance(item_json, dict):
                raise AdapterError("`bw get item` did not print an item")
            password = (item_json.get("login") or {}).get("password")
            if any(field is not None for field in fields):
                results.update(_from_fields(fields, item, item_json))
            elif password is not None and password is not False:
                results[item] = password
            elif item_json.get("fields"):
                names = [field.get("name") for field in item_json["fields"]]
                results.update(_from_fields(names, item, item_json))
            else:
                raise AdapterError(
                    f"Item {item} is not a login type item and no fields were specified")
        return results

    def _status(self, session: str | None) -> Any:
        status = parse_json(self._bw(["status"], session).stdout.strip(), "bw status")
        return status.get("status") if isinstance(status, dict) else None

    def _bw(self, args: list[str], session: str | None) -> Output:
        # Kamal: `BW_SESSION=<session> bw <command>`, the variable set only with a session.
        return self.run(["bw", *args], env={"BW_SESSION": session} if session else None)


def _items_fields(secrets: list[str]) -> dict[str, list[str | None]]:
    # Kamal's `item, field = secret.split("/")`: a third part is dropped, a missing one is nil.
    items: dict[str, list[str | None]] = {}
    for secret in secrets:
        parts = split(secret, "/")
        item = parts[0] if parts else ""
        items.setdefault(item, []).append(parts[1] if len(parts) > 1 else None)
    return items


def _from_fields(fields: list[Any], item: str, item_json: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field in fields:
        match = next((f for f in item_json.get("fields") or () if f.get("name") == field), None)
        if match is None:
            raise AdapterError(f"Could not find field {_shown(field)} in item {item} in Bitwarden")
        found[f"{item}/{_shown(field)}"] = match.get("value")
    return found


def _shown(field: Any) -> str:
    # Ruby's string interpolation: nil is empty.
    return "" if field is None else str(field)
