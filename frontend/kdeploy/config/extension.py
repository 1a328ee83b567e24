"""The root `x-kdeploy:` key: settings only kdeploy reads (Kamal ignores root `x-*` keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen

KEY = "x-kdeploy"


@dataclass(frozen=True)
class AccessoriesExtension:
    """`x-kdeploy/accessories`: how kdeploy names accessories on the hosts."""

    # Put the destination into accessory container names, volumes and directories, so that
    # several destinations' accessories can share a host (docs/accessory-destinations.md).
    name_by_destination: bool = False


@dataclass(frozen=True)
class KdeployExtension:
    """kdeploy-only settings."""

    python_interpreter: str | None = None
    # Run the plays with mitogen's strategies (docs/performance.md); KDEPLOY_MITOGEN overrides.
    mitogen: bool = False
    # Hook name (`pre-deploy`, `post-deploy`) -> the user's playbooks, relative to the project dir.
    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=frozen)
    accessories: AccessoriesExtension = field(default_factory=AccessoriesExtension)


def validate_extension(raw: Any) -> None:
    """Check `x-kdeploy:` against its documented example (unknown keys are errors)."""
    if raw is not None:
        Validator(KEY).against_example(raw, example(KEY)[KEY])


def build_extension(raw: dict[str, Any] | None) -> KdeployExtension:
    """Build the extension settings from a validated hash."""
    raw = raw or {}
    interpreter = raw.get("python_interpreter")
    hooks = {str(name): tuple(str(path) for path in playbooks or ())
             for name, playbooks in (raw.get("hooks") or {}).items()}
    accessories = raw.get("accessories") or {}
    return KdeployExtension(python_interpreter=None if interpreter is None else str(interpreter),
                            mitogen=bool(raw.get("mitogen", False)),
                            hooks=frozen(hooks),
                            accessories=AccessoriesExtension(
                                name_by_destination=bool(accessories.get("name_by_destination"))))
