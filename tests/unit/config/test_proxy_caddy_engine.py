"""caddy engine: x-kdeploy/proxy, the container argv, caddy.json, routes, refused keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from config_helpers import variant

from kdeploy.config.docs import example
from kdeploy.errors import ConfigError
from kdeploy.host_contract import caddy as proxy_caddy
from kdeploy.host_contract.inventory import build_inventory
from kdeploy.host_contract.proxy import host_proxy, role_proxy

CADDY = {"x-kdeploy": {"proxy": {"engine": "caddy"}}}


def caddy(**changes: Any) -> dict[str, Any]:
    return {**variant(**changes), **CADDY}


def route(load, proxy: dict[str, Any] | None = None) -> dict[str, Any]:
    config = load(caddy(proxy=proxy) if proxy is not None else caddy())
    data = role_proxy(config, config.role("web"))
    assert data is not None
    assert data["deploy_args"] is None
    return data["route"]


def reverse_proxy(route_: dict[str, Any]) -> dict[str, Any]:
    handler = route_["handle"][-1]
    assert handler["handler"] == "reverse_proxy"
    return handler


# -- x-kdeploy/proxy ---------------------------------------------------------------------------

def test_engine_defaults_to_kamal_proxy(load):
    proxy = load(variant()).extension.proxy
    assert (proxy.engine, proxy.image) == ("kamal-proxy", None)


def test_caddy_image_defaults_to_caddy_2_and_can_be_pinned(load):
    assert load(caddy()).extension.proxy.image == "caddy:2"
    pinned = {**variant(), "x-kdeploy": {"proxy": {"engine": "caddy", "image": "r:5000/c:2.1"}}}
    assert load(pinned).extension.proxy.image == "r:5000/c:2.1"


@pytest.mark.parametrize(("proxy", "message"), [
    ({"engine": "nginx"},
     "x-kdeploy/proxy/engine: unknown proxy engine 'nginx', expected one of: kamal-proxy, caddy"),
    ({"image": "caddy:2"},
     "x-kdeploy/proxy/image: only for the caddy engine; kamal-proxy's image is Kamal's "
     "proxy/run/registry, repository and version"),
    ({"engine": "kamal-proxy", "image": "caddy:2"},
     "x-kdeploy/proxy/image: only for the caddy engine; kamal-proxy's image is Kamal's "
     "proxy/run/registry, repository and version"),
    ({"engine": "caddy", "color": "red"}, "x-kdeploy/proxy: unknown key: color"),
    ({"engine": ["caddy"]}, "x-kdeploy/proxy/engine: should be a string"),
])
def test_bad_extension(load, write_config, proxy: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load({**variant(), "x-kdeploy": {"proxy": proxy}})
    assert error.value.message == f"{write_config({})}: {message}"
    assert error.value.exit_code == 2


def test_documented_example_is_valid(load):
    documented = example("x-kdeploy")["x-kdeploy"]
    assert documented["proxy"]["engine"] == "caddy"
    proxy = load({**variant(), "x-kdeploy": documented}).extension.proxy
    assert (proxy.engine, proxy.image) == ("caddy", documented["proxy"]["image"])


# -- the container -----------------------------------------------------------------------------

CONTRACT_RUN = [
    "--name", "kdeploy-proxy", "--network", "kamal", "--detach", "--restart", "unless-stopped",
    "--volume", "kdeploy-proxy-config:/config", "--volume", "kdeploy-proxy-data:/data",
    "--volume", "$(pwd)/.kdeploy/proxy:/etc/kdeploy-proxy",
    "--env", "XDG_CONFIG_HOME=/config", "--env", "XDG_DATA_HOME=/data",
]
CONTRACT_COMMAND = ["sh", "-c", proxy_caddy.COMMAND]


@pytest.mark.parametrize(("run", "middle"), [
    (None, ["--publish", "80:80", "--publish", "443:443", "--log-opt", "max-size=10m"]),
    ({"http_port": 8080, "https_port": 8443, "bind_ips": ["10.0.0.1"], "log_max_size": "1m",
      "options": {"label": ["a=b", "c=d"], "memory": "256m"}},
     ["--publish", "10.0.0.1:8080:80", "--publish", "10.0.0.1:8443:443",
      "--log-opt", "max-size=1m", "--label", "a=b", "--label", "c=d", "--memory", "256m"]),
    ({"publish": False}, ["--log-opt", "max-size=10m"]),
])
def test_host_proxy(load, run: dict[str, Any] | None, middle: list[str]) -> None:
    config = load(caddy(proxy={"run": run}) if run else caddy())
    data = host_proxy(config, "10.0.0.1")
    assert data["run_args"] == [*CONTRACT_RUN, *middle, "caddy:2", *CONTRACT_COMMAND]
    assert {key: value for key, value in data.items() if key != "run_args"} == {
        "engine": "caddy", "container": "kdeploy-proxy", "image": "caddy:2",
        "directories": [".kdeploy/proxy"],
        "files": [{"path": ".kdeploy/proxy/caddy.json",
                   "content": proxy_caddy.initial_config_text(), "mode": "0600"},
                  {"path": ".kdeploy/proxy/front.json",
                   "content": proxy_caddy.front_config_text(), "mode": "0600"}],
        "image_title": None, "admin_socket": ".kdeploy/proxy/admin.sock", "boot_config": None,
        "minimum_version": "2.11.0",
    }


def test_back_config_listens_on_the_socket_and_trusts_the_front() -> None:
    assert json.loads(proxy_caddy.initial_config_text()) == {
        "admin": {"listen": "unix//etc/kdeploy-proxy/admin.sock", "origins": ["kdeploy-proxy"]},
        "apps": {"http": {"servers": {"kdeploy": {
            "listen": ["unix//etc/kdeploy-proxy/http.sock"], "automatic_https": {"disable": True},
            "routes": [], "trusted_proxies_unix": True, "trusted_proxies_strict": 1}}}},
    }


def test_front_config_passes_everything_to_the_back() -> None:
    assert json.loads(proxy_caddy.front_config_text()) == {
        "admin": {"disabled": True, "config": {"persist": False}},
        "apps": {"http": {"servers": {"front": {
            "listen": [":80"], "automatic_https": {"disable": True},
            "routes": [{"handle": [{
                "handler": "reverse_proxy",
                "upstreams": [{"dial": "unix//etc/kdeploy-proxy/http.sock"}],
                "trusted_proxies": ["0.0.0.0/0", "::/0"],
                "load_balancing": {"try_duration": "5s", "try_interval": "100ms"},
            }]}]}}}},
    }


def test_command_uses_the_mounted_configs_and_shell_builtins_only() -> None:
    # The real processes are exercised in test_proxy_caddy_real.py; here: the static facts.
    command = proxy_caddy.COMMAND
    assert "(k /etc/kdeploy-proxy/caddy.json $r)" in command
    assert "(k /etc/kdeploy-proxy/front.json)" in command
    assert "r=--resume" in command
    assert "\n" not in command
    assert "$(pwd)" not in command  # the roles replace that literal in run_args
    for external in ("sleep", "sed", "mv ", "cat ", "wait -n"):
        assert external not in command


# -- routes ------------------------------------------------------------------------------------

def test_default_route_is_a_catch_all_with_kamal_proxys_defaults(load):
    assert route(load) == {
        "@id": "kdeploy-app-web",
        "handle": [
            {"handler": "request_body", "max_size": 1_073_741_824},
            {"handler": "reverse_proxy", "upstreams": [],
             "transport": {"protocol": "http", "response_header_timeout": "30s"},
             "request_buffers": 1_073_741_824, "response_buffers": -1},
        ],
        "terminal": True,
    }


def test_hosts_and_path_prefixes_are_matched_and_stripped(load):
    data = route(load, {"hosts": ["a.com", "b.com"], "path_prefix": "/api,/oauth/"})
    assert data["match"] == [{"host": ["a.com", "b.com"],
                              "path": ["/api", "/api/*", "/oauth", "/oauth/*"]}]
    assert data["handle"][0] == {"handler": "rewrite", "path_regexp": [
        {"find": "^(?:/api|/oauth)(?:/|$)", "replace": "/"}]}


def test_prefix_kept_with_strip_path_prefix_false(load):
    data = route(load, {"host": "a.com", "path_prefixes": ["/v1.0"], "strip_path_prefix": False})
    assert data["match"] == [{"host": ["a.com"], "path": ["/v1.0", "/v1.0/*"]}]
    assert [h["handler"] for h in data["handle"]] == ["request_body", "reverse_proxy"]


def test_regexp_metacharacters_are_quoted(load):
    data = route(load, {"path_prefix": "/v1.0"})
    assert data["handle"][0]["path_regexp"][0]["find"] == "^(?:/v1\\.0)(?:/|$)"


@pytest.mark.parametrize(("proxy", "expected"), [
    ({"response_timeout": 5},
     {"transport": {"protocol": "http", "response_header_timeout": "5s"}}),
    ({"forward_headers": False}, {"trusted_proxies": None, "headers": {"request": {"set": {
        "X-Forwarded-For": ["{http.vars.client_ip}"], "X-Forwarded-Proto": ["http"],
        "X-Forwarded-Host": ["{http.request.hostport}"]}}}}),
    ({"forward_headers": True}, {"trusted_proxies": None, "headers": None}),
    ({}, {"trusted_proxies": None, "headers": None}),
    ({"buffering": {"requests": False}}, {"request_buffers": None}),
    ({"buffering": {"responses": False}}, {"response_buffers": None}),
    ({"buffering": {"max_request_body": 1000}}, {"request_buffers": 1000}),
    ({"buffering": {"max_request_body": 0}}, {"request_buffers": -1}),
    ({"buffering": {"max_response_body": 2000}}, {"response_buffers": 2000}),
])
def test_reverse_proxy_options(load, proxy: dict[str, Any], expected: dict[str, Any]) -> None:
    handler = reverse_proxy(route(load, proxy))
    assert {key: handler.get(key) for key in expected} == expected


@pytest.mark.parametrize(("buffering", "limit"), [
    ({}, 1_073_741_824), ({"max_request_body": 500}, 500), ({"max_request_body": 0}, None),
    ({"requests": False, "max_request_body": 500}, None),
])
def test_request_body_limit(load, buffering: dict[str, Any], limit: int | None) -> None:
    handlers = route(load, {"buffering": buffering})["handle"]
    limits = [h["max_size"] for h in handlers if h["handler"] == "request_body"]
    assert limits == ([limit] if limit else [])


def test_healthcheck_is_passed_as_data(load):
    config = load(caddy(proxy={"app_port": 3000,
                               "healthcheck": {"path": "/health", "interval": 2, "timeout": 3}}))
    data = role_proxy(config, config.role("web"))
    assert (data["service"], data["app_port"], data["healthcheck"]) == (
        "app-web", 3000, {"path": "/health", "interval": 2, "timeout": 3})


# -- keys Caddy cannot honour --------------------------------------------------------------------

ENGINE = "not supported by the caddy proxy engine (x-kdeploy/proxy/engine)"


@pytest.mark.parametrize(("changes", "message"), [
    ({"proxy": {"host": "a.com", "ssl": True}},
     f"proxy/ssl: {ENGINE}: TLS is kamal-proxy's (Let's Encrypt or custom certificates)"),
    ({"proxy": {"host": "a.com", "ssl": {"certificate_pem": "C", "private_key_pem": "K"}}},
     f"proxy/ssl: {ENGINE}: TLS is kamal-proxy's (Let's Encrypt or custom certificates)"),
    ({"proxy": {"ssl_redirect": False}}, f"proxy/ssl_redirect: {ENGINE}: only meaningful with ssl"),
    ({"servers": {"web": {"hosts": ["10.0.0.1"], "proxy": {"buffering": {"memory": 1}}}}},
     f"servers/web/proxy/buffering/memory: {ENGINE}: Caddy buffers in memory only"),
    ({"proxy": {"logging": {"request_headers": ["X-A"]}}},
     f"proxy/logging/request_headers: {ENGINE}: request/response header logging is "
     "kamal-proxy's"),
    ({"proxy": {"run": {"metrics_port": 9090}}},
     f"proxy/run/metrics_port: {ENGINE}: kamal-proxy's Prometheus metrics"),
    ({"proxy": {"run": {"debug": True}}},
     f"proxy/run/debug: {ENGINE}: kamal-proxy's debug logging"),
    ({"proxy": {"run": {"version": "v0.9.3"}}},
     f"proxy/run/version: {ENGINE}: pin Caddy's image with x-kdeploy/proxy/image"),
    ({"proxy": {"run": {"registry": "r:5000"}}},
     f"proxy/run/registry: {ENGINE}: pin Caddy's image with x-kdeploy/proxy/image"),
    ({"proxy": {"run": {"repository": "me/proxy"}}},
     f"proxy/run/repository: {ENGINE}: pin Caddy's image with x-kdeploy/proxy/image"),
    ({"error_pages_path": "public"}, f"error_pages_path: {ENGINE}: error pages are kamal-proxy's"),
    ({"accessories": {"api": {"image": "api:1", "host": "10.0.0.1", "proxy": {"app_port": 80}}}},
     f"accessories/api/proxy: {ENGINE}: kdeploy routes only app roles through Caddy"),
    # The role wins the merge, and is named, when both set the key.
    ({"proxy": {"buffering": {"memory": 1}},
      "servers": {"web": {"hosts": ["10.0.0.1"], "proxy": {"buffering": {"memory": 2}}}}},
     f"servers/web/proxy/buffering/memory: {ENGINE}: Caddy buffers in memory only"),
])
def test_unsupported_keys_are_config_errors(load, write_config, changes: dict[str, Any],
                                            message: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_inventory(load(caddy(**changes)))
    assert error.value.message == f"{write_config({})}: {message}"
    assert error.value.exit_code == 2


@pytest.mark.parametrize("changes", [
    {"proxy": {"ssl": False, "run": {"debug": False}}},
    # Keys of roles without the proxy do not matter.
    {"proxy": {"buffering": {"memory": 1}},
     "servers": {"web": {"hosts": ["10.0.0.1"], "proxy": False}}},
    {"error_pages_path": "public", "servers": {"web": {"hosts": ["10.0.0.1"], "proxy": False}}},
])
def test_harmless_values_are_accepted(load, changes: dict[str, Any]) -> None:
    build_inventory(load(caddy(**changes)))


def test_kamal_proxy_engine_accepts_every_key(load):
    build_inventory(load(variant(proxy={
        "host": "a.com", "ssl": True, "ssl_redirect": False, "buffering": {"memory": 1},
        "logging": {"request_headers": ["X-A"]}, "run": {"metrics_port": 9090, "debug": True}})))
