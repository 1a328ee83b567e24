"""`env:` for the root, a role, an accessory or a host tag (Kamal's Configuration::Env)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.ruby import HASH, STRING
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str

_SPECIAL_KEYS = ("clear", "secret", "tags")


@dataclass(frozen=True)
class Env:
    """Clear values, secret names, and (root only) extra env per host tag."""

    clear: Mapping[str, str] = field(default_factory=frozen)
    secret: Mapping[str, str] = field(default_factory=frozen)  # env name -> secret name
    tags: Mapping[str, Env] = field(default_factory=frozen)

    def merge(self, other: Env) -> Env:
        """Kamal's merge: clear values of `other` win, secret keys are unioned (tags dropped)."""
        return Env(clear=frozen({**self.clear, **other.clear}),
                   secret=frozen({**self.secret, **other.secret}))

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The `secret:` entries as written (`K` or `K:ALIAS`)."""
        return tuple(k if k == v else f"{k}:{v}" for k, v in self.secret.items())


def validate_env(raw: Any, context: str) -> None:
    """Check an env hash (simple or clear/secret/tags form); tags only in the root `env`."""
    validator = Validator(context)
    if not isinstance(raw, dict) or not any(key in raw for key in _SPECIAL_KEYS):
        validator.hash_of(raw, STRING)
        return
    unknown = [str(key) for key in raw if key not in _SPECIAL_KEYS]
    if unknown:
        validator.unknown_keys_error(unknown)
    if "clear" in raw:
        with validator.within("clear"):
            validator.hash_of(raw["clear"], STRING)
    if "secret" in raw:
        with validator.within("secret"):
            validator.array_of(raw["secret"], STRING)
    if "tags" in raw:
        _validate_tags(validator, raw["tags"])


def _validate_tags(validator: Validator, tags: Any) -> None:
    if validator.context != "env":
        validator.error("tags are only allowed in the root env")
    with validator.within("tags"):
        validator.of_type(tags, HASH)
        for tag, value in tags.items():
            with validator.within(tag):
                validator.of_type(value, HASH)
                validate_env(value, validator.context)


def build_env(raw: Mapping[str, Any] | None) -> Env:
    """Build an Env from a validated env hash."""
    raw = raw or {}
    special = any(key in raw for key in _SPECIAL_KEYS)
    clear = raw.get("clear", {}) if special else raw
    secret = dict(_split_alias(ruby_str(key)) for key in raw.get("secret") or [])
    tags = {ruby_str(name): build_env(value) for name, value in (raw.get("tags") or {}).items()}
    return Env(
        clear=frozen({ruby_str(k): ruby_str(v) for k, v in (clear or {}).items()}),
        secret=frozen(secret),
        tags=frozen(tags),
    )


def _split_alias(key: str) -> tuple[str, str]:
    # `DB_PASSWORD:MAIN_DB_PASSWORD` reads secret MAIN_DB_PASSWORD into env DB_PASSWORD.
    name, _, alias = key.partition(":")
    return name, alias or name
