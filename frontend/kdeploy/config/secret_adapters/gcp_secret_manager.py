"""Kamal's ``gcp_secret_manager`` (``gcp``) adapter: ``gcloud secrets versions access``.

Names are ``[PROJECT/]SECRET[/VERSION]`` (project ``default``: gcloud's own; version
``latest``); results are keyed ``PROJECT/SECRET``. ``--account`` is ``USER`` or
``USER|SERVICE_ACCOUNT[,DELEGATE...]`` (user ``default``: gcloud's own), the second part
impersonated.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import split


class GcpSecretManager(Adapter):
    """Needs ``--account``; runs ``gcloud auth login`` when ``gcloud auth list`` is empty."""

    cli = ("gcloud", "--version")
    cli_name = "gcloud"

    def login(self, account: str | None) -> str | None:
        """Log in through the browser flow when no account is credentialed."""
        if not self._logged_in():
            self.run(["gcloud", "auth", "login"])
            if not self._logged_in():
                raise AdapterError("could not login to gcloud")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """One ``gcloud secrets versions access`` per name."""
        parts = split(str(account), "|", 2)
        user = parts[0] if parts else "default"
        service_account = parts[1] if len(parts) > 1 else None
        results: dict[str, Any] = {}
        for project, name, version in _with_metadata(prefixed_secrets(secrets, from_)).values():
            argv = ["gcloud", "secrets", "versions", "access", version, f"--secret={name}"]
            if project != "default":
                argv.append(f"--project={project}")
            if user != "default":
                argv.append(f"--account={user}")
            if service_account is not None:
                argv.append(f"--impersonate-service-account={service_account}")
            output = self.run([*argv, "--format=json"])
            item_name = f"{project}/{name}"
            if not output.ok:
                raise AdapterError(f"Could not read {item_name} from Google Secret Manager")
            secret = parse_json(output.stdout.strip(), "gcloud secrets versions access")
            data = (secret.get("payload") or {}).get("data") if isinstance(secret, dict) else None
            results[item_name] = _decode64(str(data or ""), item_name)
        return results

    def _logged_in(self) -> bool:
        accounts = parse_json(self.run(["gcloud", "auth", "list", "--format=json"]).stdout,
                              "gcloud auth list")
        return bool(accounts)


def _with_metadata(secrets: list[str]) -> dict[str, tuple[str, str, str]]:
    items: dict[str, tuple[str, str, str]] = {}
    for secret in secrets:
        parts = split(secret, "/")
        if len(parts) == 1:
            parts.insert(0, "default")
        parts += [""] * (2 - len(parts)) if len(parts) < 2 else []
        items[secret] = (parts[0], parts[1], parts[2] if len(parts) > 2 else "latest")
    return items


def _decode64(data: str, item_name: str) -> str:
    # Ruby's Base64.decode64 skips what is not base64 and needs no padding.
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", data.split("=")[0])
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AdapterError(f"{item_name} from Google Secret Manager is not UTF-8 text") from None
