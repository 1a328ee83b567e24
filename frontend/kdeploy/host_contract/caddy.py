"""The caddy engine: Kamal's `proxy:` keys as a Caddy container, its configs and routes.

The container runs two Caddy processes. The front (front.json, static, never reloaded) listens on
:80 and passes every request to the back over a unix socket. The back (caddy.json, `--resume`)
holds the routes and the admin API. Every admin change is a full Caddy reload, and a reload
re-creates TCP listeners (SO_REUSEPORT: connections queued on the old socket are reset) while a
unix listener is handed over as is, so a route switch drops no request.

Routes are JSON objects for Caddy's admin API (`apps/http/servers/kdeploy/routes`); the release
module fills in the upstream and swaps the route in one admin call. Keys Caddy cannot honour are
config errors (config/proxy_support.py), never silently dropped; docs/config.md lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kdeploy.config import defaults
from kdeploy.config.values import ruby_str
from kdeploy.host_contract.kamal_proxy import logging_args, optionize, publish_args

if TYPE_CHECKING:
    from kdeploy.config.proxy import Proxy

CONTAINER = "kdeploy-proxy"
# The oldest Caddy that loads caddy.json: `trusted_proxies_unix` came with Caddy v2.11.0 and
# `trusted_proxies_strict` with v2.8.0; an older Caddy rejects the config and crash-loops.
MINIMUM_VERSION = "2.11.0"
DIRECTORY = ".kdeploy/proxy"
CONFIG_FILE = f"{DIRECTORY}/caddy.json"
FRONT_FILE = f"{DIRECTORY}/front.json"
ADMIN_SOCKET = f"{DIRECTORY}/admin.sock"
SERVER = "kdeploy"
# Inside the container: DIRECTORY is mounted here (configs, admin and http sockets).
_MOUNT = "/etc/kdeploy-proxy"
# The back's server listens here; the front proxies to it.
HTTP_SOCKET = f"unix/{_MOUNT}/http.sock"
# The single-process layout's listen, still in autosaves made by it (see COMMAND).
_OLD_LISTEN = '"listen":[":80"]'
# The back's server trusts the front: X-Forwarded-* from the socket are kept; client_ip is the
# rightmost address in X-Forwarded-For (the one the front appended).
_TRUST_KEYS = {"trusted_proxies_strict": 1, "trusted_proxies_unix": True}
_TRUST = json.dumps(_TRUST_KEYS, separators=(",", ":"))[1:-1]
# kamal-proxy's defaults (its `deploy` flags), which Caddy gets explicitly.
DEFAULT_RESPONSE_TIMEOUT = 30
DEFAULT_MAX_REQUEST_BODY = 1_073_741_824  # 1 GB
# The front trusts X-Forwarded-* from any client, as kamal-proxy's --forward-headers does.
_ALL_RANGES = ["0.0.0.0/0", "::/0"]

def run_args(run: Mapping[str, Any] | None, image: str) -> list[str]:
    """`docker run` argv after `run` for the Caddy container (the contract's, Kamal's publish)."""
    run = run or {}
    return [
        "--name", CONTAINER, "--network", defaults.DOCKER_NETWORK, "--detach",
        "--restart", defaults.RESTART_POLICY,
        "--volume", f"{CONTAINER}-config:/config", "--volume", f"{CONTAINER}-data:/data",
        "--volume", f"$(pwd)/{DIRECTORY}:{_MOUNT}",
        "--env", "XDG_CONFIG_HOME=/config", "--env", "XDG_DATA_HOME=/data",
        *publish_args(run), *logging_args(run), *optionize(run.get("options") or {}),
        image, "sh", "-c", COMMAND,
    ]


# The container's command: POSIX sh with builtins only (caddy:2 has busybox, other images may not).
# 1. An autosave from the single-process layout (volume kdeploy-proxy-config) has the server
#    listening on :80, which would keep the back on :80 next to the front (both bind with
#    SO_REUSEPORT, so nothing fails: the kernel would just split traffic between them). Its listen
#    is rewritten to the unix socket, with the server's trust of the front (Caddy writes the
#    autosave as one line of compact JSON), so the routes survive the upgrade. An autosave that
#    still does not listen on the socket is not resumed: the back starts from caddy.json (and
#    overwrites the autosave); the next deploy adds the routes again.
# 2. Each caddy runs in a subshell that passes TERM/INT on to it and, when it has exited, sends
#    USR1 to the main shell, which then stops both (and the container exits 1: Docker's restart
#    policy restarts it); after TERM/INT the container exits 0. Builtins only (`sleep` is not
#    assumed) and no `wait -n`: busybox 1.35's does not return when a child is killed by a signal.
COMMAND = " ".join(f"""
a="${{XDG_CONFIG_HOME:-/config}}/caddy/autosave.json"; o='{_OLD_LISTEN}';
n='"listen":["{HTTP_SOCKET}"]'; m="$n"',{_TRUST}'; r=--resume;
if [ -f "$a" ]; then j=; IFS= read -r j < "$a";
case $j in *"$o"*) j="${{j%%"$o"*}}$m${{j#*"$o"}}"; printf %s "$j" > "$a";; esac;
case $j in *"$n"*) ;; *) r=; echo "kdeploy-proxy: $a does not listen on the socket: not resumed";;
esac; fi;
k() {{ trap 'kill -TERM $c 2>/dev/null' TERM INT; caddy run --config "$@" & c=$!;
while kill -0 $c 2>/dev/null; do wait $c; done; kill -USR1 $$; }};
s=1; d=; trap 'd=1; kill -TERM $b $f 2>/dev/null' USR1;
trap 's=0; d=1; kill -TERM $b $f 2>/dev/null' TERM INT;
(k {_MOUNT}/caddy.json $r) & b=$!; (k {_MOUNT}/front.json) & f=$!;
[ "$d" ] && kill -TERM $b $f 2>/dev/null;
until wait; do :; done; exit $s
""".split())


def initial_config() -> dict[str, Any]:
    """caddy.json, the back: the admin API and the routes' server, both on unix sockets.

    The server trusts the front (its unix socket): X-Forwarded-* arrive as the front made them.
    `{http.vars.client_ip}` is the last address in X-Forwarded-For (strict: the rightmost one not
    trusted, and no address is), i.e. the front's peer, for routes with forward_headers false.
    """
    return {
        "admin": {"listen": f"unix/{_MOUNT}/admin.sock", "origins": [CONTAINER]},
        "apps": {"http": {"servers": {SERVER: {
            "listen": [HTTP_SOCKET], "automatic_https": {"disable": True}, "routes": [],
            **_TRUST_KEYS,
        }}}},
    }


def front_config() -> dict[str, Any]:
    """front.json, the front: :80 to the back's socket, no admin API, never reloaded.

    It trusts every client's X-Forwarded-* and appends the client's address (kamal-proxy's
    forward_headers, its default without ssl); a route with forward_headers false overrides
    them in the back. Host is passed on unchanged. A request arriving while the back starts
    (no socket yet) is retried for a few seconds.
    """
    return {
        # No autosave: it would overwrite the back's (one /config), which `--resume` loads.
        "admin": {"disabled": True, "config": {"persist": False}},
        "apps": {"http": {"servers": {"front": {
            "listen": [":80"], "automatic_https": {"disable": True},
            "routes": [{"handle": [{
                "handler": "reverse_proxy",
                "upstreams": [{"dial": HTTP_SOCKET}],
                "trusted_proxies": list(_ALL_RANGES),
                "load_balancing": {"try_duration": "5s", "try_interval": "100ms"},
            }]}],
        }}}},
    }


def initial_config_text() -> str:
    """caddy.json as written to the host (stable, so an unchanged file is not rewritten)."""
    return _text(initial_config())


def front_config_text() -> str:
    """front.json as written to the host."""
    return _text(front_config())


def _text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def route(service: str, proxy: Proxy) -> dict[str, Any]:
    """The Caddy route for a role: `@id`, match (hosts, path prefixes), handlers.

    The reverse_proxy handler's `upstreams` is empty: the release module fills in
    `[{"dial": "<container>:<app_port>"}]`.
    """
    match: dict[str, Any] = {}
    if proxy.hosts:
        match["host"] = list(proxy.hosts)
    prefixes = [_normal_prefix(prefix) for prefix in proxy.path_prefixes]
    if prefixes:
        match["path"] = [p for prefix in prefixes for p in (prefix, f"{prefix}/*")]
    handlers: list[dict[str, Any]] = []
    if prefixes and proxy.raw.get("strip_path_prefix", True) not in (False, None):
        handlers.append(_strip_prefixes(prefixes))
    body_limit = _max_request_body(proxy)
    if body_limit:
        handlers.append({"handler": "request_body", "max_size": body_limit})
    handlers.append(reverse_proxy(proxy))
    data: dict[str, Any] = {"@id": route_id(service)}
    if match:
        data["match"] = [match]
    data["handle"] = handlers
    data["terminal"] = True
    return data


def route_id(service: str) -> str:
    """The route's `@id`: `kdeploy-<service>` (Kamal's proxy service name)."""
    return f"kdeploy-{service}"


def reverse_proxy(proxy: Proxy) -> dict[str, Any]:
    """The reverse_proxy handler: timeouts, buffering and X-Forwarded-* trust as kamal-proxy."""
    timeout = proxy.raw.get("response_timeout")
    timeout = DEFAULT_RESPONSE_TIMEOUT if timeout is None else timeout
    handler: dict[str, Any] = {
        "handler": "reverse_proxy",
        "upstreams": [],
        "transport": {"protocol": "http", "response_header_timeout": f"{ruby_str(timeout)}s"},
    }
    if not _forward_headers(proxy):
        # The front trusted the client; kamal-proxy's forward_headers false replaces its headers:
        # the client's address only, the scheme and the Host it asked for.
        handler["headers"] = {"request": {"set": {
            "X-Forwarded-For": ["{http.vars.client_ip}"],
            "X-Forwarded-Proto": ["http"],
            "X-Forwarded-Host": ["{http.request.hostport}"],
        }}}
    if _buffering(proxy, "requests"):
        # Caddy reads up to this many bytes before proxying; -1: the whole body.
        handler["request_buffers"] = _max_request_body(proxy) or -1
    if _buffering(proxy, "responses"):
        limit = _buffer_value(proxy, "max_response_body")
        handler["response_buffers"] = int(limit) if limit else -1
    return handler


def _strip_prefixes(prefixes: list[str]) -> dict[str, Any]:
    # One rewrite for all prefixes (a subroute of strips would strip twice on overlapping ones):
    # /api/users -> /users, /api -> /.
    alternatives = "|".join(_regexp_quote(prefix) for prefix in prefixes)
    return {"handler": "rewrite",
            "path_regexp": [{"find": f"^(?:{alternatives})(?:/|$)", "replace": "/"}]}


def _forward_headers(proxy: Proxy) -> bool:
    # kamal-proxy forwards unless TLS is on (which Caddy refuses) or forward_headers: false.
    setting = proxy.raw.get("forward_headers")
    return True if setting is None else setting is not False


def _buffering(proxy: Proxy, key: str) -> bool:
    value = _buffer_value(proxy, key, default=True)
    return value is not None and value is not False


def _buffer_value(proxy: Proxy, key: str, default: Any = None) -> Any:
    buffering = proxy.raw.get("buffering")
    return buffering.get(key, default) if isinstance(buffering, Mapping) else default


def _max_request_body(proxy: Proxy) -> int:
    """kamal-proxy's max body when buffering requests (default 1 GB; 0 = none); 0 otherwise."""
    if not _buffering(proxy, "requests"):
        return 0
    limit = _buffer_value(proxy, "max_request_body")
    return DEFAULT_MAX_REQUEST_BODY if limit is None else int(limit)


def _normal_prefix(prefix: str) -> str:
    # kamal-proxy's prefixes are paths without a trailing slash: "/api/" routes as "/api".
    text = "/" + prefix.strip().strip("/")
    return text


def _regexp_quote(text: str) -> str:
    # RE2 syntax (Go): escape the metacharacters.
    return "".join(f"\\{char}" if char in r"\.+*?()|[]{}^$" else char for char in text)
