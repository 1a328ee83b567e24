"""`builder:`: how the app image is built (Kamal's Configuration::Builder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.ruby import present, truthy
from kdeploy.config.validation import Validator
from kdeploy.config.values import frozen, ruby_str


@dataclass(frozen=True)
class Builder:
    """Every key of Kamal's builder section, with its defaults."""

    arch: tuple[str, ...] = ()
    remote: str | None = None
    local: bool = True
    driver: str = "docker-container"
    pack_builder: str | None = None
    pack_buildpacks: tuple[str, ...] = ()
    cache_type: str | None = None
    cache_options: str | None = None
    cache_image: str | None = None
    context: str | None = None
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=frozen)
    secrets: tuple[str, ...] = ()
    ssh: str | None = None
    provenance: str | None = None
    sbom: bool | None = None
    raw: Mapping[str, Any] = field(default_factory=frozen)

    @property
    def git_clone(self) -> bool:
        """Without `context`, Kamal builds from a clean git clone of HEAD."""
        return self.context is None


def validate_builder(raw: Any) -> None:
    """Check `builder:`: the example, then Kamal's cross-key rules."""
    validator = Validator("builder")
    validator.against_example(raw, example("builder")["builder"])
    cache = raw.get("cache")
    # Ruby truthiness throughout: an empty hash or string is still "set".
    if truthy(cache) and truthy(cache.get("type")) and cache["type"] not in ("gha", "registry"):
        validator.error(f"Invalid cache type: {ruby_str(cache['type'])}")
    if not present(raw.get("arch")):
        validator.error("Builder arch not set")
    if truthy(raw.get("pack")) and isinstance(raw.get("arch"), list) and len(raw["arch"]) > 1:
        validator.error("buildpacks only support building for one arch")
    if raw.get("local") is False and not present(raw.get("remote")):
        validator.error("Cannot disable local builds, no remote is set")


def build_builder(raw: Mapping[str, Any] | None) -> Builder:
    """Build Builder from a validated hash."""
    raw = raw or {}
    arch = raw.get("arch") or ()
    pack = raw.get("pack") or {}
    cache = raw.get("cache") or {}
    return Builder(
        arch=tuple(ruby_str(a) for a in (arch if isinstance(arch, list) else [arch])),
        remote=_opt(raw.get("remote")),
        local=raw.get("local", True) is not False,
        driver=ruby_str(raw.get("driver", "docker-container")),
        pack_builder=_opt(pack.get("builder")),
        pack_buildpacks=tuple(ruby_str(b) for b in pack.get("buildpacks") or ()),
        cache_type=_opt(cache.get("type")),
        cache_options=_opt(cache.get("options")),
        cache_image=_opt(cache.get("image")) if cache else None,
        context=_opt(raw.get("context")),
        dockerfile=ruby_str(raw.get("dockerfile", "Dockerfile")),
        target=_opt(raw.get("target")),
        args=frozen({ruby_str(k): ruby_str(v) for k, v in (raw.get("args") or {}).items()}),
        secrets=tuple(ruby_str(s) for s in raw.get("secrets") or ()),
        ssh=_opt(raw.get("ssh")),
        provenance=_opt(raw.get("provenance")),
        sbom=raw.get("sbom"),
        raw=frozen(raw),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else ruby_str(value)
