"""Kamal's ``test`` adapter: each name reversed (``LPAREN``/``RPAREN`` become parentheses)."""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import Adapter, prefixed_secrets


class Test(Adapter):
    """No CLI, no login; ``--account`` is still required, as in Kamal."""

    __test__ = False  # not a pytest class

    def login(self, account: str | None) -> str | None:
        """Nothing to log in to."""
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """Each (prefixed) name maps to itself reversed."""
        return {secret: secret.replace("LPAREN", "(").replace("RPAREN", ")")[::-1]
                for secret in prefixed_secrets(secrets, from_)}
