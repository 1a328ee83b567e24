"""The kamal-proxy engine: Kamal 2.11's `docker run` and `kamal-proxy deploy` argv, as data.

Kamal builds shell command lines (lib/kamal/commands/proxy.rb, configuration/proxy.rb,
configuration/proxy/run.rb); these functions return what the process receives once the shell has
split and unescaped them, so a task can run them without a shell and stay byte-for-byte Kamal's.
`$(pwd)` in an item stands for the remote user's home directory (Kamal's `$PWD`: it runs there).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kdeploy.config import defaults
from kdeploy.config.ruby import present, truthy
from kdeploy.config.values import ruby_str

if TYPE_CHECKING:
    from kdeploy.config.model import Config
    from kdeploy.config.proxy import Proxy
    from kdeploy.config.role import Role

CONTAINER = "kamal-proxy"
MINIMUM_VERSION = "v0.9.2"
DEFAULT_IMAGE = f"basecamp/kamal-proxy:{MINIMUM_VERSION}"
DEFAULT_LOG_REQUEST_HEADERS = ("Cache-Control", "Last-Modified", "User-Agent")
HOME = "$(pwd)"
APPS_DIRECTORY = ".kamal/proxy/apps-config"
APPS_CONTAINER_DIRECTORY = "/home/kamal-proxy/.apps-config"
# `docker run` options Kamal gives kamal-proxy before the run config's own.
_RUN_PREFIX = ("--name", CONTAINER, "--network", defaults.DOCKER_NETWORK, "--detach", "--restart",
               defaults.RESTART_POLICY, "--volume",
               "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy",
               "--volume", f"{HOME}/{APPS_DIRECTORY}:{APPS_CONTAINER_DIRECTORY}")
# What Kamal's boot_config falls back to without `proxy/run` (no boot_config files on the host).
_DEFAULT_BOOT_OPTIONS = ("--publish", "80:80", "--publish", "443:443",
                         "--log-opt", "max-size=10m")


def run_args(run: Mapping[str, Any] | None) -> list[str]:
    """`docker run` argv after `run`, image and command included (Kamal's Commands::Proxy#run).

    Args:
        run: the host's `proxy/run` hash (Kamal's `config.proxy_run(host)`), or None for the
            legacy form (`echo <boot config> | xargs docker run ...` with the default boot config).
    """
    if run is None:
        return [*_RUN_PREFIX, *_DEFAULT_BOOT_OPTIONS, DEFAULT_IMAGE]
    return [*_RUN_PREFIX, *publish_args(run), *logging_args(run),
            *([f"--expose={ruby_str(run['metrics_port'])}"]
              if present(run.get("metrics_port")) else []),
            *optionize(run.get("options") or {}),
            image(run), "kamal-proxy", "run", *optionize(_run_command_options(run))]


def legacy_run_prefix() -> list[str]:
    """`docker run` argv before the boot config's words (Kamal's `docker_run`, fed by xargs)."""
    return list(_RUN_PREFIX)


def image(run: Mapping[str, Any] | None) -> str:
    """`[registry, repository].compact.join("/"):version`, Kamal's defaults without `run`."""
    if run is None:
        return DEFAULT_IMAGE
    repository = "/".join(ruby_str(part) for part in (
        run.get("registry"), run.get("repository", "basecamp/kamal-proxy")) if part is not None)
    return f"{repository}:{ruby_str(run.get('version', MINIMUM_VERSION))}"


def publish_args(run: Mapping[str, Any]) -> list[str]:
    """`--publish [ip:]http:80 --publish [ip:]https:443` per bind IP; none when publish is false."""
    if run.get("publish", True) in (False, None):
        return []
    bind_ips = run.get("bind_ips")
    args: list[str] = []
    # Ruby: `(bind_ips || [nil])`, so an empty list publishes nothing.
    for bind_ip in bind_ips if bind_ips is not None else [None]:
        ip = _format_bind_ip(bind_ip)
        for port, container_port in ((run.get("http_port", 80), 80),
                                     (run.get("https_port", 443), 443)):
            parts = [ip, port, container_port]
            args += ["--publish", ":".join(ruby_str(p) for p in parts if p is not None)]
    return args


def logging_args(run: Mapping[str, Any]) -> list[str]:
    """`--log-opt max-size=<log_max_size>` (default 10m) unless it is blank."""
    size = run.get("log_max_size", "10m")
    return ["--log-opt", f"max-size={ruby_str(size)}"] if present(size) else []


def _run_command_options(run: Mapping[str, Any]) -> dict[str, Any]:
    # Kamal: { debug: debug? || nil, "metrics-port": metrics_port }.compact
    options = {"debug": run.get("debug") or None, "metrics-port": run.get("metrics_port")}
    return {key: value for key, value in options.items() if value is not None}


def deploy_args(config: Config, role: Role) -> list[str]:
    """`kamal-proxy deploy SERVICE` argv after `--target=ID:PORT` (Proxy#deploy_options)."""
    assert role.proxy is not None
    return optionize(deploy_options(config, role.name, role.proxy), with_="=")


def stop_args(drain_timeout: Any, message: str | None) -> list[str]:
    """`kamal-proxy stop SERVICE` argv after the service (Proxy#stop_command_args).

    Args:
        drain_timeout: seconds (`--drain-timeout`, else the config's drain_timeout).
        message: `--message`, shown on the 503 page while stopped (None: kamal-proxy's text).
    """
    options = {"drain-timeout": seconds(drain_timeout), "message": message}
    return optionize({key: value for key, value in options.items() if value is not None},
                     with_="=")


def deploy_options(config: Config, role_name: str, proxy: Proxy) -> dict[str, Any]:
    """Kamal's `deploy_options` hash, in its order, nil values dropped."""
    buffering = proxy.raw.get("buffering")
    buffering = buffering if isinstance(buffering, Mapping) else {}
    options = {
        "host": list(proxy.hosts),
        "tls": True if truthy(proxy.raw.get("ssl")) else None,
        "tls-certificate-path": tls_container_path(config, role_name, proxy, "cert.pem"),
        "tls-private-key-path": tls_container_path(config, role_name, proxy, "key.pem"),
        "deploy-timeout": seconds(config.deploy_timeout),
        "drain-timeout": seconds(config.drain_timeout),
        "health-check-interval": seconds(proxy.get("healthcheck", "interval")),
        "health-check-timeout": seconds(proxy.get("healthcheck", "timeout")),
        "health-check-path": proxy.get("healthcheck", "path"),
        "target-timeout": seconds(proxy.raw.get("response_timeout")),
        "buffer-requests": buffering.get("requests", True),
        "buffer-responses": buffering.get("responses", True),
        "buffer-memory": buffering.get("memory"),
        "max-request-body": buffering.get("max_request_body"),
        "max-response-body": buffering.get("max_response_body"),
        "path-prefix": list(proxy.path_prefixes),
        "strip-path-prefix": proxy.raw.get("strip_path_prefix"),
        "forward-headers": proxy.raw.get("forward_headers"),
        "tls-redirect": proxy.raw.get("ssl_redirect"),
        "log-request-header": _default(proxy.get("logging", "request_headers"),
                                       list(DEFAULT_LOG_REQUEST_HEADERS)),
        "log-response-header": proxy.get("logging", "response_headers"),
        "error-pages": _error_pages(config),
    }
    return {key: value for key, value in options.items() if value is not None}


def app_container_directory(config: Config) -> str:
    """`/home/kamal-proxy/.apps-config/<service>[-<destination>]`."""
    return f"{APPS_CONTAINER_DIRECTORY}/{config.service_with_destination}"


def app_directory(config: Config) -> str:
    """`.kamal/proxy/apps-config/<service>[-<destination>]` (relative to the home directory)."""
    return f"{APPS_DIRECTORY}/{config.service_with_destination}"


def tls_container_path(config: Config, role_name: str, proxy: Proxy, name: str) -> str | None:
    """Where kamal-proxy reads a role's custom certificate (`.../tls/<role>/cert.pem`)."""
    if not proxy.custom_ssl_certificate:
        return None
    return f"{app_container_directory(config)}/tls/{role_name}/{name}"


def _error_pages(config: Config) -> str | None:
    if not config.error_pages_path:
        return None
    return f"{app_container_directory(config)}/error_pages/{config.version or ''}"


def seconds(value: Any) -> str | None:
    """Kamal's `seconds_duration`: `30` -> `30s`, nil (and false) -> nil."""
    return f"{ruby_str(value)}s" if truthy(value) else None


def _default(value: Any, default: Any) -> Any:
    # Ruby's `value || default`: only nil and false fall back ([] does not).
    return value if truthy(value) else default


# -- Kamal::Utils, as the process sees the result ------------------------------------------

def optionize(args: Mapping[str, Any], with_: str | None = None) -> list[str]:
    """Kamal's `optionize`: `--key value` (or `--key=value`), true -> `--key`, arrays repeat.

    Values are what the process receives after the shell undoes Kamal's escaping.
    """
    options: list[str] = []
    for key, value in _flatten(args):
        if value is True:
            options.append(f"--{key}")
        elif with_ is not None:
            options.append(f"--{key}{with_}{process_value(value)}")
        else:
            options += [f"--{key}", process_value(value)]
    return options


def _flatten(args: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for key, value in args.items():
        if isinstance(value, (list, tuple)):
            yield from ((key, item) for item in value)
        else:
            yield key, value


def process_value(value: Any) -> str:
    r"""What a process receives for Kamal's `escape_shell_value(value)` in a shell command line.

    Kamal quotes ASCII runs with Ruby's `String#dump` (escaping `` ` `` and `$` not followed by
    `{...}`) inside double quotes. The shell undoes `\"`, `\\`, `` \` `` and `\$`; the other
    escapes `dump` writes (`\n`, `\e`, `\x01`, `\#{`) reach the process as written.
    """
    text = ruby_str(value)
    if text.isascii() and _PLAIN.fullmatch(text):
        return text
    return "".join(_dumped_char(text, index) for index in range(len(text)))


_PLAIN = re.compile(r"[ -!%-~]*")  # printable ASCII without `"`, `#`, `$` (and `\\` below)
_DUMP_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v",
                 "\b": "\\b", "\a": "\\a", "\x1b": "\\e"}


def _dumped_char(text: str, index: int) -> str:
    char = text[index]
    if char in _DUMP_ESCAPES:
        return _DUMP_ESCAPES[char]
    if char == "#" and text[index + 1:index + 2] in ("{", "$", "@"):
        return "\\#"  # dump writes `\#{`; `\#` means itself inside double quotes
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02X}"
    return char  # `"`, `\\`, `` ` ``, `$` and non-ASCII come through as themselves


def _format_bind_ip(ip: Any) -> str | None:
    # Kamal puts an IPv6 address in square brackets: [::1]:80:80.
    if ip is None:
        return None
    text = ruby_str(ip)
    try:
        is_v6 = isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        is_v6 = False
    return f"[{text}]" if is_v6 else text
