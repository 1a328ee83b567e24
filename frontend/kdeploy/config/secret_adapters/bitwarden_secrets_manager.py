"""Kamal's ``bitwarden_secrets_manager`` (``bitwarden-sm``) adapter: the ``bws`` CLI.

Names are secret UUIDs (``bws secret get`` each), or one of ``all`` (``bws secret list``) and
``PROJECT/all`` (``bws secret list PROJECT``). Results are keyed by each secret's ``key``.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)

_ALL = "all"
_ALL_OF_PROJECT = "/all"


class BitwardenSecretsManager(Adapter):
    """No ``--account``: ``bws`` authenticates with BWS_ACCESS_TOKEN."""

    requires_account = False
    cli = ("bws", "--version")
    cli_name = "Bitwarden Secrets Manager"

    def login(self, account: str | None) -> str | None:
        """``bws project list`` must work: the access token is valid."""
        if not self.run(["bws", "project", "list"]).ok:
            raise AdapterError("Could not authenticate to Bitwarden Secrets Manager. "
                               "Did you set a valid access token?")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """``secret get`` per UUID, or one ``secret list [PROJECT]``."""
        if not secrets:
            raise AdapterError("You must specify what to retrieve from Bitwarden Secrets Manager")
        secrets = prefixed_secrets(secrets, from_)
        results: dict[str, Any] = {}
        listing = _list_command(secrets)
        if listing is None:
            for uuid in secrets:
                output = self.run(["bws", "secret", "get", uuid])
                if not output.ok:
                    raise AdapterError(f"Could not read {uuid} from Bitwarden Secrets Manager")
                item = parse_json(output.stdout, "bws secret get")
                results[_field(item, "key")] = _field(item, "value")
            return results
        output = self.run(["bws", *listing])
        if not output.ok:
            raise AdapterError("Could not read secrets from Bitwarden Secrets Manager")
        items = parse_json(output.stdout, "bws secret list")
        for item in items if isinstance(items, list) else ():
            results[_field(item, "key")] = _field(item, "value")
        return results


def _list_command(secrets: list[str]) -> list[str] | None:
    if len(secrets) != 1:
        return None
    if secrets[0] == _ALL:
        return ["secret", "list"]
    if secrets[0].endswith(_ALL_OF_PROJECT):
        return ["secret", "list", secrets[0].split(_ALL_OF_PROJECT)[0]]
    return None


def _field(item: Any, name: str) -> Any:
    if not isinstance(item, dict):
        raise AdapterError("`bws` did not print a secret")
    return item.get(name)
