"""Kamal's ``one_password`` (``1password``) adapter: ``op item get`` per item.

Names are ``VAULT/ITEM[/FIELD...]`` (an ``op://`` prefix is dropped, FIELD defaults to
``password``); with no names, ``--from VAULT/ITEM`` fetches every field of that item.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import blank, split


class OnePassword(Adapter):
    """Needs ``--account``; signs in (``op signin --raw``) unless ``op account get`` works."""

    cli = ("op", "--version")
    cli_name = "1Password"

    def login(self, account: str | None) -> str | None:
        """Return the session token of a fresh sign-in, or None when already signed in."""
        if self.run(["op", "account", "get", "--account", str(account)], quiet=True).ok:
            return None
        output = self.run(["op", "signin", "--account", str(account), "--force", "--raw"])
        if not output.ok:
            raise AdapterError("Failed to login to 1Password")
        # `--raw` prints the token and a newline; the newline is no part of it.
        return output.stdout.strip()

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """Named fields, or every field of ``--from``'s item when no name is given."""
        results: dict[str, Any] = {}
        if not secrets:
            vault, item = _vault_item(from_)
            fields = self._item_get(vault, item, None, account, session)
            results.update(_fields_map(fields.get("fields") if isinstance(fields, dict) else None))
            return results
        for vault, items in _vaults_items_fields(prefixed_secrets(secrets, from_)).items():
            for item, fields in items.items():
                got = self._item_get(vault, item, fields, account, session)
                results.update(_fields_map([got] if len(fields) == 1 else got))
        return results

    def _item_get(self, vault: str | None, item: str | None, fields: list[str] | None,
                  account: str | None, session: str | None) -> Any:
        argv = ["op", "item", "get", str(item or ""), "--vault", str(vault or ""),
                "--format", "json", "--account", str(account)]
        if not blank(session):
            argv += ["--session", str(session)]
        if fields:
            argv += ["--fields", ",".join(f"label={field}" for field in fields)]
        output = self.run(argv)
        if not output.ok:
            named = f"{', '.join(fields)} " if fields else ""
            raise AdapterError(f"Could not read {named}from {item} in the {vault} 1Password vault")
        return parse_json(output.stdout, "op item get")


def _vaults_items_fields(secrets: list[str]) -> dict[str | None, dict[str | None, list[str]]]:
    vaults: dict[str | None, dict[str | None, list[str]]] = {}
    for secret in secrets:
        parts = split(secret.removeprefix("op://"), "/")
        vault = parts[0] if parts else None
        item = parts[1] if len(parts) > 1 else None
        fields = parts[2:] or ["password"]
        vaults.setdefault(vault, {}).setdefault(item, []).append(".".join(fields))
    return vaults


def _vault_item(from_: str | None) -> tuple[str | None, str | None]:
    if from_ is None:
        raise AdapterError("Name the secrets to fetch, or an item with --from VAULT/ITEM")
    parts = split(from_.removeprefix("op://"), "/")
    return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)


def _fields_map(fields: Any) -> dict[str, Any]:
    """Each field by its reference ``op://vault/item/field`` minus ``op://`` and ``/password``."""
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise AdapterError("`op item get` did not print fields")
    return {str(field.get("reference", "")).removeprefix("op://").removesuffix("/password"):
            field.get("value") for field in fields}
