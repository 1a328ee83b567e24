"""`logging:` for the root or a role (Kamal's Configuration::Logging)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.ruby import present
from kdeploy.config.validation import Validator
from kdeploy.config.values import deep_merge, frozen, ruby_str

# Kamal's default when neither a driver nor options are set anywhere.
DEFAULT_OPTIONS = {"max-size": "10m"}


@dataclass(frozen=True)
class Logging:
    """Docker log driver and its `--log-opt` options."""

    driver: str | None = None
    options: Mapping[str, str] = field(default_factory=frozen)

    def merge(self, other: Logging) -> Logging:
        """Deep-merge `other` over this one (root logging <- role logging)."""
        return Logging(driver=other.driver or self.driver,
                       options=frozen(deep_merge(self.options, other.options)))

    def with_default(self) -> Logging:
        """Kamal's `--log-opt max-size=10m`, only when neither driver nor options are set."""
        if present(self.driver) or self.options:
            return self
        return Logging(options=frozen(DEFAULT_OPTIONS))


def validate_logging(raw: Any, context: str = "logging") -> None:
    """Check a logging hash against the documented example."""
    Validator(context).against_example(raw, example("logging")["logging"])


def build_logging(raw: Mapping[str, Any] | None) -> Logging:
    """Build Logging from a validated hash."""
    raw = raw or {}
    driver = raw.get("driver")
    return Logging(
        driver=ruby_str(driver) if driver is not None else None,
        options=frozen({ruby_str(k): ruby_str(v) for k, v in (raw.get("options") or {}).items()}),
    )
