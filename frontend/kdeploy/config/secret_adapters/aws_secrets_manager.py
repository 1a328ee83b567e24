"""Kamal's ``aws_secrets_manager`` adapter: one ``aws secretsmanager batch-get-secret-value``.

A secret whose SecretString is a JSON object gives one value per key (``NAME/KEY``); any other
JSON value, or text that is not JSON, gives one value (``NAME``). Kamal 2.12 added the JSON
scalars and non-string values (written back as JSON), which 2.11 could not read.
"""

from __future__ import annotations

import json
from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import inspect_list, json_dump


class AwsSecretsManager(Adapter):
    """``--account`` is optional: the AWS profile (``--profile``)."""

    requires_account = False
    cli = ("aws", "--version")
    cli_name = "AWS"

    def login(self, account: str | None) -> str | None:
        """The AWS CLI brings its own credentials."""
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """One batch call for all names."""
        results: dict[str, Any] = {}
        for secret in self._batch_get(prefixed_secrets(secrets, from_), account):
            name = secret.get("Name")
            text = secret.get("SecretString")
            if not isinstance(text, str):
                raise AdapterError(f"{name} has no SecretString (binary secrets are not read)")
            try:
                value = json.loads(text, parse_constant=_reject)
            except ValueError:
                results[f"{name}"] = text
                continue
            if isinstance(value, dict):
                for key, item in value.items():
                    results[f"{name}/{key}"] = _stringify(item)
            else:
                results[f"{name}"] = _stringify(value)
        return results

    def _batch_get(self, secrets: list[str], account: str | None) -> list[dict[str, Any]]:
        argv = ["aws", "secretsmanager", "batch-get-secret-value", "--secret-id-list", *secrets]
        if account is not None:
            argv += ["--profile", account]
        output = self.run([*argv, "--output", "json"])
        if not output.ok:
            # Kamal names the command's output here; kdeploy names the secrets instead.
            raise AdapterError(f"Could not read {inspect_list(secrets)} from AWS Secrets Manager")
        parsed = parse_json(output.stdout, "aws secretsmanager batch-get-secret-value")
        if not isinstance(parsed, dict):
            raise AdapterError(
                "`aws secretsmanager batch-get-secret-value` did not print an object")
        if parsed.get("Errors"):
            raise AdapterError(" ".join(
                f"{error.get('SecretId') or ''}: {error.get('Message') or ''}"
                for error in parsed["Errors"]))
        values = parsed.get("SecretValues") or []
        return [value for value in values if isinstance(value, dict)]


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else json_dump(value)


def _reject(name: str) -> Any:
    raise ValueError(name)
