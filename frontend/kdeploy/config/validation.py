"""Check a slice of raw YAML against the documented example for its section (Kamal's validator).

The example YAML in `config/docs/<section>.yml` doubles as the schema, as in Kamal: an example
string accepts any scalar, an example integer needs an integer, a boolean needs true/false, an
example hash is checked key by key and `...` stands for a section checked elsewhere. Every
message starts with the key path, `servers/web/env: should be a hash`, in Kamal's wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kdeploy.config.docker_options import option_args
from kdeploy.config.ruby import (
    ARRAY,
    BOOLEAN,
    DESCRIPTIONS,
    HASH,
    STRING,
    SYMBOL,
    is_extension,
    kind_of,
    present,
    valid_kind,
)
from kdeploy.errors import ConfigError

# The restart policies `docker run --restart` takes (Kamal 2.12's validator).
RESTART_POLICY = re.compile(r"no|always|unless-stopped|on-failure(?::[0-9]+)?")


class Validator:
    """Walks one section with a key-path context; raises ConfigError on the first problem."""

    def __init__(self, context: str = "", *, allow_extensions: bool = False) -> None:
        self.context = context
        self.allow_extensions = allow_extensions

    # -- the example-driven walk -------------------------------------------------------------

    def against_example(self, value: Any, example: Any) -> None:
        """Check `value` against an example value, recursively for hashes."""
        self.of_type(value, kind_of(example))
        if not isinstance(example, dict):
            return
        self.known_keys(value, example)
        for key, item in value.items():
            if is_extension(key):
                continue
            with self.within(key):
                self._against_example_key(str(key), item, example.get(str(key)))

    def _against_example_key(self, key: str, value: Any, example: Any) -> None:
        if example == "...":
            # `...` marks a section checked by its own validator; only its shape is checked here.
            if not (key == "proxy" and isinstance(value, bool)):
                self.of_type(value, *((ARRAY,) if key == "servers" else ()), HASH)
        elif key == "ssl":
            self.of_type(value, BOOLEAN, HASH)
        elif key == "hooks_output":
            self.hooks_output(value)
        elif key == "hosts":
            self.servers(value)
        elif isinstance(example, list):
            self._against_example_list(key, value, example)
        elif isinstance(example, dict):
            if key in ("options", "args"):
                self.of_type(value, HASH)
            elif key == "labels":
                self.hash_of(value, kind_of(next(iter(example.values()))))
            else:
                self.against_example(value, example)
        else:
            self.of_type(value, kind_of(example))

    def _against_example_list(self, key: str, value: Any, example: list[Any]) -> None:
        if key == "arch":
            self.array_of_or_type(value, kind_of(example[0]))
        elif key == "config":
            self.ssh_config(value)
        elif key in ("files", "directories"):
            self.paths(value)
        else:
            self.array_of(value, kind_of(example[0]))

    # -- building blocks ---------------------------------------------------------------------

    def of_type(self, value: Any, *kinds: str) -> None:
        """Fail with `should be a X or a Y` unless `value` is one of `kinds`."""
        if not any(valid_kind(value, kind) for kind in kinds):
            self.type_error(*kinds)

    def array_of(self, value: Any, kind: str) -> None:
        """An array whose every item is of `kind` (item paths are indexes: `secret/0`)."""
        self.of_type(value, ARRAY)
        for index, item in enumerate(value):
            with self.within(index):
                self.of_type(item, kind)

    def array_of_or_type(self, value: Any, kind: str) -> None:
        """Either one `kind` or an array of them (builder `arch`)."""
        try:
            if isinstance(value, list):
                self.array_of(value, kind)
            else:
                self.of_type(value, kind)
        except ConfigError:
            self.type_error(ARRAY, kind)

    def hash_of(self, value: Any, kind: str) -> None:
        """A hash whose every value is of `kind` (labels, simple env)."""
        self.of_type(value, HASH)
        for key, item in value.items():
            with self.within(key):
                self.of_type(item, kind)

    def servers(self, value: Any) -> None:
        """A host list: strings, or one-key hashes mapping a host to its tag(s)."""
        self.of_type(value, ARRAY)
        for index, server in enumerate(value):
            with self.within(index):
                self.of_type(server, STRING, HASH)
                if isinstance(server, dict):
                    self._tagged_host(server)

    def _tagged_host(self, server: dict[Any, Any]) -> None:
        if len(server) != 1:
            self.error("multiple hosts found")
        host, tags = next(iter(server.items()))
        with self.within(host):
            self.of_type(tags, STRING, ARRAY)
            if isinstance(tags, list):
                self.array_of(tags, STRING)

    def ssh_config(self, value: Any) -> None:
        """`ssh/config`: a boolean, a string or an array of strings."""
        if isinstance(value, list):
            self.array_of(value, STRING)
        elif not isinstance(value, (bool, str)):
            self.type_error(BOOLEAN, STRING, ARRAY)

    def paths(self, value: Any) -> None:
        """Accessory `files`/`directories`: `local:remote[:opts]` strings or hashes."""
        self.of_type(value, ARRAY)
        for index, path in enumerate(value):
            with self.within(index):
                self.of_type(path, STRING, HASH)
                if isinstance(path, dict):
                    for key in ("local", "remote", "mode", "owner", "options"):
                        if key in path:
                            with self.within(key):
                                self.of_type(path[key], STRING)

    def hooks_output(self, value: Any) -> None:
        """`hooks_output`: one level, or a hash of hook name to level."""
        # Kamal names Ruby's Symbol too (`:verbose`); YAML gives us strings for those.
        if isinstance(value, dict):
            for hook, level in value.items():
                with self.within(hook):
                    self.of_type(level, STRING, SYMBOL)
        else:
            self.of_type(value, STRING, SYMBOL)

    def known_keys(self, value: Mapping[Any, Any], example: Mapping[Any, Any]) -> None:
        """Fail with `unknown key(s): a, b` for keys the example does not have."""
        unknown = [str(key) for key in value if str(key) not in example]
        if self.allow_extensions:
            unknown = [key for key in unknown if not is_extension(key)]
        if unknown:
            self.unknown_keys_error(unknown)

    def labels(self, labels: Any) -> None:
        """Reject the labels Kamal sets itself."""
        if not present(labels):
            return
        with self.within("labels"):
            for key in labels:
                if key in ("destination", "role", "service"):
                    with self.within(key):
                        self.error(
                            "invalid label. destination, role, and service are reserved labels"
                        )

    def docker_options(self, options: Any) -> None:
        """The `docker run` flags a deploy passes, built here once so a bad one fails the load.

        Kamal 2.12: `options/restart` replaces `--restart unless-stopped`, if docker knows it.
        """
        if not isinstance(options, dict):
            return
        with self.within("options"):
            option_args(options, self.context)
        if "restart" not in options:
            return
        policy = options["restart"]
        with self.within("options"), self.within("restart"):
            # YAML reads a bare `no` as false, hence Kamal's hint.
            if not isinstance(policy, str):
                self.error('should be a string. Use "no" to disable restarts')
            if not RESTART_POLICY.fullmatch(policy):
                self.error("should be no, always, unless-stopped, on-failure, or on-failure:N")

    # -- errors and context ------------------------------------------------------------------

    def error(self, message: str) -> None:
        """Raise ConfigError prefixed with the current key path."""
        raise ConfigError(f"{self.context}: {message}" if self.context else message)

    def type_error(self, *kinds: str) -> None:
        """Raise Kamal's `should be a X or a Y`."""
        descriptions = list(dict.fromkeys(DESCRIPTIONS.get(kind, f"a {kind}") for kind in kinds))
        self.error(f"should be {' or '.join(descriptions)}")

    def unknown_keys_error(self, keys: list[str]) -> None:
        """Raise Kamal's `unknown key: a` / `unknown keys: a, b`."""
        self.error(f"unknown {'key' if len(keys) == 1 else 'keys'}: {', '.join(keys)}")

    @contextmanager
    def within(self, key: Any) -> Iterator[None]:
        """Extend the key path by `key` for the duration of the block."""
        previous = self.context
        self.context = "/".join(part for part in (previous, _ruby_str(key)) if part)
        try:
            yield
        finally:
            self.context = previous


def _ruby_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
