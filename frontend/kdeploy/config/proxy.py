"""`proxy:` for the root, a role or an accessory (Kamal's Configuration::Proxy).

What the engines make of it (argv, Caddy routes) is the host contract's (host_contract/proxy.py).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.docs import example
from kdeploy.config.ruby import present, truthy
from kdeploy.config.validation import Validator
from kdeploy.config.values import deep_merge, frozen, ruby_str


@dataclass(frozen=True)
class Proxy:
    """kamal-proxy settings; `raw` keeps the validated (for a role: merged) hash."""

    hosts: tuple[str, ...] = ()
    app_port: int = 80
    ssl: bool = False
    custom_ssl_certificate: bool = False
    run: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=frozen)
    # A role's own hash before the merge: which key paths the role wrote (for messages).
    own: Mapping[str, Any] | None = None

    def merge_over(self, root: Proxy) -> Proxy:
        """A role's proxy deep-merged over the root proxy (Kamal: role wins)."""
        return dataclasses.replace(build_proxy(deep_merge(root.raw, self.raw)), own=self.raw)

    def get(self, *path: str) -> Any:
        """The raw value at a key path (`get("buffering", "memory")`), None when absent."""
        return _dig(self.raw, path)[1]

    def has(self, *path: str) -> bool:
        """Whether the key path is written in the (merged) hash, whatever its value."""
        return _dig(self.raw, path)[0]

    def written_by_role(self, *path: str) -> bool:
        """Whether a role's own hash (not the root's) sets the key path."""
        return _dig(self.own, path)[0]

    @property
    def path_prefixes(self) -> tuple[str, ...]:
        """Kamal's `path_prefixes || path_prefix.split(",")`."""
        prefixes = self.raw.get("path_prefixes")
        if prefixes is None and self.raw.get("path_prefix") is not None:
            prefixes = ruby_str(self.raw["path_prefix"]).split(",")
        return tuple(ruby_str(prefix) for prefix in prefixes or ())


def _dig(node: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def validate_proxy(raw: Any, context: str = "proxy") -> None:
    """Check a proxy hash: the example, then Kamal's cross-key rules."""
    if raw is None:
        return
    validator = Validator(context)
    validator.against_example(raw, example("proxy")["proxy"])
    if not present(raw.get("host")) and not present(raw.get("hosts")) and truthy(raw.get("ssl")):
        validator.error("Must set a host to enable automatic SSL")
    if "host" in raw and "hosts" in raw:
        validator.error("Specify one of 'host' or 'hosts', not both")
    _validate_ssl(validator, raw.get("ssl"))
    _validate_run(validator, raw.get("run"))


def _validate_ssl(validator: Validator, ssl: Any) -> None:
    if not isinstance(ssl, dict):
        return
    if present(ssl.get("certificate_pem")) and not present(ssl.get("private_key_pem")):
        validator.error("Missing private_key_pem setting "
                        "(required when certificate_pem is present)")
    if present(ssl.get("private_key_pem")) and not present(ssl.get("certificate_pem")):
        validator.error("Missing certificate_pem setting "
                        "(required when private_key_pem is present)")


def _validate_run(validator: Validator, run: Any) -> None:
    if not run:
        return
    # Kamal 2.11 checks `bind_ips` of the wrong hash (never fails); we check the right one.
    for address in run.get("bind_ips") or ():
        try:
            ipaddress.ip_address(ruby_str(address))
        except ValueError:
            validator.error(f"Invalid publish IP address: {ruby_str(address)}")
    if run.get("publish") is False and any(
        present(run.get(key)) for key in ("bind_ips", "http_port", "https_port")
    ):
        validator.error("Cannot set http_port, https_port or bind_ips when publish is false")


def build_proxy(raw: Mapping[str, Any] | None) -> Proxy:
    """Build Proxy from a validated hash."""
    raw = dict(raw or {})
    host = raw.get("host")
    hosts = raw.get("hosts") or ([] if host is None else ruby_str(host).split(","))
    ssl = raw.get("ssl", False)
    return Proxy(
        hosts=tuple(ruby_str(host) for host in hosts),
        app_port=raw.get("app_port", 80),
        ssl=truthy(ssl),
        custom_ssl_certificate=isinstance(ssl, dict) and present(ssl.get("certificate_pem"))
        and present(ssl.get("private_key_pem")),
        run=frozen(raw["run"]) if present(raw.get("run")) else None,
        raw=frozen(raw),
    )
