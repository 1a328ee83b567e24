"""Kamal 2.11's deprecated `proxy boot_config` files, for the kamal-proxy engine.

`kamal proxy boot_config set` writes up to four files under `~/.kamal/proxy/` (options, image,
image_version, run_command; a value equal to Kamal's default removes its file instead), and a
proxy booted without `proxy/run` in the config reads them: `echo "<files or defaults>" | xargs
docker run ...` (lib/kamal/cli/proxy.rb, commands/proxy.rb, configuration/proxy/boot.rb). The
file contents and shell commands here are Kamal's, byte for byte.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kdeploy.config.values import ruby_str
from kdeploy.errors import UsageError
from kdeploy.host_contract.kamal_proxy import MINIMUM_VERSION

DIRECTORY = ".kamal/proxy"
FILES = ("options", "image", "image_version", "run_command")
DEFAULT_IMAGE = "basecamp/kamal-proxy"
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"
DEPRECATION = ("The proxy boot_config command is deprecated - set the config in the deploy YAML "
               "at proxy/run instead")


@dataclass(frozen=True)
class BootConfigOptions:
    """`proxy boot_config set` options, Kamal's names and defaults."""

    publish: bool = True
    publish_host_ip: tuple[str, ...] = ()
    http_port: Any = DEFAULT_HTTP_PORT
    https_port: Any = DEFAULT_HTTPS_PORT
    log_max_size: str = DEFAULT_LOG_MAX_SIZE
    registry: str | None = None
    repository: str | None = None
    image_version: str | None = None
    metrics_port: Any = None
    debug: bool = False
    docker_options: tuple[str, ...] = field(default_factory=tuple)


def boot_config_files(options: BootConfigOptions) -> dict[str, str | None]:
    """What `set` leaves in each file: its content, or None where Kamal removes the file.

    Raises:
        UsageError: a `--publish-host-ip` that is no IP address (Kamal's ArgumentError).
    """
    boot_options = [
        *([_publish_args(options.http_port, options.https_port, options.publish_host_ip)]
          if options.publish else []),
        *_logging_args(options.log_max_size),
        *([f"--expose={ruby_str(options.metrics_port)}"] if options.metrics_port else []),
        *(f"--{option}" for option in options.docker_options),
    ]
    image = "/".join(part for part in (options.registry or None,
                                       options.repository or "basecamp", "kamal-proxy") if part)
    run_options = {"debug": options.debug or None, "metrics-port": options.metrics_port}
    run_words = [word for key, value in run_options.items() if value is not None
                 for word in ([f"--{key}"] if value is True
                              else [f"--{key}", escape_shell_value(value)])]
    return {
        "options": None if boot_options == default_boot_options() else " ".join(boot_options),
        "image": None if image == DEFAULT_IMAGE else image,
        "image_version": options.image_version,
        "run_command": f"kamal-proxy run {' '.join(run_words)}" if run_words else None,
    }


def default_boot_options() -> list[str]:
    """Kamal's `default_boot_options`: publish 80 and 443, log max-size 10m."""
    return [_publish_args(DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, ()),
            *_logging_args(DEFAULT_LOG_MAX_SIZE)]


def read_command() -> str:
    """Kamal's `boot_config`: `echo "<options> <image>:<version> <run command>"`, with defaults.

    What `boot_config get` prints per host, and what `proxy boot` pipes into `xargs docker run`.
    """
    return (f'echo "{_read("options", " ".join(default_boot_options()))} '
            f'{_read("image", DEFAULT_IMAGE)}:{_read("image_version", MINIMUM_VERSION)} '
            f'{_read("run_command", "")}"')


def image_command() -> str:
    """The image a boot from the files runs (`<image>:<version>`), for the check before a deploy."""
    return f'echo "{_read("image", DEFAULT_IMAGE)}:{_read("image_version", MINIMUM_VERSION)}"'


def host_boot_config(run_prefix: list[str]) -> dict[str, Any]:
    """`kdeploy_proxy.boot_config` of a kamal-proxy host without `proxy/run`.

    `read` and `image` are shell commands run in the home directory; `run_prefix` is the
    `docker run` argv before the words `read` echoes (xargs appends them).
    """
    return {"directory": DIRECTORY, "files": list(FILES), "read": read_command(),
            "image": image_command(), "run_prefix": run_prefix}


def _read(name: str, default: str) -> str:
    # Kamal's substitute(read_file(file, default:)): `$(cat F 2> /dev/null || echo "<default>")`.
    return f'$(cat {DIRECTORY}/{name} 2> /dev/null || echo "{default}")'


def _publish_args(http_port: Any, https_port: Any, bind_ips: Sequence[str]) -> str:
    # Kamal's argumentize of plain strings: no escaping; one string for all bind IPs.
    for ip in bind_ips:
        if not _is_ip(ip):
            raise UsageError(f"Invalid publish IP address: {ip}")
    groups = []
    for bind_ip in bind_ips or [None]:
        ip = f"[{bind_ip}]" if bind_ip and ":" in bind_ip and not bind_ip.startswith("[") \
            else bind_ip
        ports = [":".join(ruby_str(part) for part in (ip, port, container) if part is not None)
                 for port, container in ((http_port, DEFAULT_HTTP_PORT),
                                         (https_port, DEFAULT_HTTPS_PORT))]
        groups.append(" ".join(f"--publish {port}" for port in ports))
    return " ".join(groups)


def _logging_args(max_size: str | None) -> list[str]:
    return ["--log-opt", f"max-size={max_size}"] if max_size else []


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def escape_shell_value(value: Any) -> str:
    r"""Kamal's `escape_shell_value`: ASCII runs as Ruby's `String#dump`, `` ` `` and `$` escaped.

    `$` stays as is before `{...}` (Kamal's DOLLAR_SIGN_WITHOUT_SHELL_EXPANSION_REGEX).
    """
    text = ruby_str(value)
    out: list[str] = []
    run: list[str] = []
    for char in text:
        if char.isascii():
            run.append(char)
            continue
        if run:
            out.append(_dump("".join(run)))
            run = []
        out.append(char)
    if run:
        out.append(_dump("".join(run)))
    return "".join(out)


_DUMP = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f",
         "\v": "\\v", "\b": "\\b", "\a": "\\a", "\x1b": "\\e", "`": "\\`"}


def _dump(text: str) -> str:
    chars = []
    for index, char in enumerate(text):
        following = text[index + 1:]
        if char in _DUMP:
            chars.append(_DUMP[char])
        elif char == "#" and following[:1] in ("{", "$", "@"):
            chars.append("\\#")
        elif char == "$" and not (following.startswith("{") and "}" in following):
            chars.append("\\$")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            chars.append(f"\\x{ord(char):02X}")
        else:
            chars.append(char)
    return '"' + "".join(chars) + '"'
