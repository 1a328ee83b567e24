"""``secrets fetch`` and ``secrets extract``: what Kamal's ``Cli::Secrets`` prints.

Both are shared by the CLI and by a secrets file's ``$(kamal secrets ...)``; ``inline`` is
Kamal's hidden ``--inline``: fetch's JSON shell-escaped, so that ``$SECRETS`` on a later line
comes back whole when ``extract`` splits its command line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kdeploy.config.secret_adapters import lookup
from kdeploy.config.secret_adapters.base import AdapterError, VaultRunner
from kdeploy.config.secret_adapters.ruby_text import blank, json_dump, shellescape
from kdeploy.errors import UsageError


def fetch(adapter: str, secrets: Sequence[str], *, account: str | None = None,
          from_: str | None = None, inline: bool = False,
          run: VaultRunner | None = None) -> str:
    """Fetch from a vault and return the results as Kamal prints them (JSON, one line).

    Raises:
        UsageError: Unknown adapter, or ``--account`` missing where the adapter needs it.
        AdapterError: The vault CLI failed (see each adapter).
    """
    found = lookup(adapter, run or VaultRunner())
    if found.requires_account and blank(account):
        # Kamal prints this and exits 0; kdeploy fails, as for any missing option.
        raise UsageError("No value provided for required options '--account'")
    text = json_dump(found.fetch(secrets, account=account, from_=from_))
    return shellescape(text) if inline else text


def extract(name: str, secrets: str) -> str:
    """The value called name (or ending ``/name``) in fetch's JSON, as Ruby's ``puts`` shows it.

    Raises:
        UsageError: secrets is not a JSON object.
        AdapterError: No such secret.
    """
    try:
        parsed = json.loads(secrets)
    except ValueError as error:
        raise UsageError(f"The secrets to extract from are not JSON: {error.msg}") from None
    if not isinstance(parsed, dict):
        raise UsageError("The secrets to extract from are not a JSON object")
    value = parsed.get(name)
    if value is None or value is False:
        # Ruby's `a || b`: nil and false fall through to the first `*/name`.
        value = next((v for k, v in parsed.items() if k.endswith(f"/{name}")), value)
    if value is None:
        raise AdapterError(f"Could not find secret {name}")
    return ruby_to_s(value)


def ruby_to_s(value: Any) -> str:
    """How Ruby's ``puts`` writes a JSON value: strings as they are, scalars as Ruby's."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # `puts [a, b]` writes each element on its own line.
        return "\n".join(ruby_to_s(item) for item in value)
    if isinstance(value, (int, float)):
        return repr(value)
    return json_dump(value)
