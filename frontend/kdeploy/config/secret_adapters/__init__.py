"""The vaults `kdeploy secrets fetch` (and `$(kamal secrets fetch ...)`) reads, as Kamal's.

One module per adapter of Kamal 2.12's ``lib/kamal/secrets/adapters``, each running the vault's
CLI with the argv Kamal's command line gives it. ``commands`` holds fetch and extract, and
``inline`` what a secrets file's ``$(kamal secrets ...)`` becomes.
"""

from __future__ import annotations

import re

from kdeploy.config.secret_adapters.aws_secrets_manager import AwsSecretsManager
from kdeploy.config.secret_adapters.base import Adapter, AdapterError, VaultRunner
from kdeploy.config.secret_adapters.bitwarden import Bitwarden
from kdeploy.config.secret_adapters.bitwarden_secrets_manager import BitwardenSecretsManager
from kdeploy.config.secret_adapters.doppler import Doppler
from kdeploy.config.secret_adapters.enpass import Enpass
from kdeploy.config.secret_adapters.gcp_secret_manager import GcpSecretManager
from kdeploy.config.secret_adapters.last_pass import LastPass
from kdeploy.config.secret_adapters.one_password import OnePassword
from kdeploy.config.secret_adapters.passbolt import Passbolt
from kdeploy.config.secret_adapters.test import Test
from kdeploy.errors import UsageError

# By Kamal's class name: `--adapter` is camelized and looked up as a constant.
ADAPTERS: dict[str, type[Adapter]] = {cls.__name__: cls for cls in (
    OnePassword, Bitwarden, BitwardenSecretsManager, LastPass, AwsSecretsManager,
    GcpSecretManager, Doppler, Enpass, Passbolt, Test)}
# Kamal's `Adapters.lookup` aliases (compared downcased).
_ALIASES = {"1password": "one_password", "lastpass": "last_pass", "gcp": "gcp_secret_manager",
            "bitwarden-sm": "bitwarden_secrets_manager"}
# The names the docs and `--help` give (each also accepted camelized, as Kamal does).
ADAPTER_NAMES = ("1password", "bitwarden", "bitwarden-sm", "lastpass", "aws_secrets_manager",
                 "gcp", "doppler", "enpass", "passbolt", "test")


def lookup(name: str, run: VaultRunner) -> Adapter:
    """Kamal's ``Adapters.lookup``: the adapter called name (or an alias).

    Raises:
        UsageError: No such adapter, worded as Kamal words it.
    """
    name = _ALIASES.get(name.lower(), name)
    adapter = ADAPTERS.get(camelize(name))
    if adapter is None:
        raise UsageError(f"Unknown secrets adapter: {name}")
    return adapter(run)


def camelize(name: str) -> str:
    """ActiveSupport's ``String#camelize`` (no acronyms): ``one_password`` -> ``OnePassword``."""
    name = re.sub(r"^[a-z\d]*", lambda m: m[0].capitalize(), name)
    return re.sub(r"(?:_|(/))([a-z\d]*)", lambda m: ("::" if m[1] else "") + m[2].capitalize(),
                  name, flags=re.I)


__all__ = ["ADAPTERS", "ADAPTER_NAMES", "Adapter", "AdapterError", "VaultRunner", "camelize",
           "lookup"]
