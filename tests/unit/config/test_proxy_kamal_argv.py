"""kamal-proxy engine: `docker run` and `kamal-proxy deploy` argv equal Kamal 2.11.0's.

Expected command lines are copied from Kamal 2.11.0's own tests (test/commands/proxy_test.rb,
test/commands/app_test.rb, test/cli/proxy_test.rb) or built by hand from its source
(configuration/proxy.rb#deploy_options), then split as the shell splits them: what the process
receives. `$PWD` (Kamal runs in the home directory) is the contract's `$(pwd)` placeholder.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from config_helpers import variant

from kdeploy.host_contract import kamal_proxy as proxy_kamal
from kdeploy.host_contract.proxy import host_proxy, role_proxy

DOCKER_RUN = ("docker run --name kamal-proxy --network kamal --detach --restart unless-stopped "
              "--volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy "
              "--volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config")
LOG_HEADERS = ('--log-request-header="Cache-Control" --log-request-header="Last-Modified" '
               '--log-request-header="User-Agent"')


def argv(command: str) -> list[str]:
    """A Kamal command line as its process receives it, `$PWD` kept as the placeholder."""
    return [item.replace("$PWD", "$(pwd)") for item in shlex.split(command)]


def run_argv(run: dict[str, Any] | None) -> list[str]:
    return ["docker", "run", *proxy_kamal.run_args(run)]


# -- docker run ------------------------------------------------------------------------------

@pytest.mark.parametrize(("run", "kamal"), [
    # test/commands/proxy_test.rb (run config tests)
    ({"registry": "registry:4443"},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m "
     "registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
    ({"repository": "custom/repo"},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m "
     "custom/repo:v0.9.2 kamal-proxy run"),
    ({"version": "v1.2.3"},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m "
     "basecamp/kamal-proxy:v1.2.3 kamal-proxy run"),
    ({"bind_ips": ["0.0.0.0", "127.0.0.1"]},
     f"{DOCKER_RUN} --publish 0.0.0.0:80:80 --publish 0.0.0.0:443:443 "
     "--publish 127.0.0.1:80:80 --publish 127.0.0.1:443:443 --log-opt max-size=10m "
     "basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
    ({"log_max_size": "50m"},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=50m "
     "basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
    ({"debug": True},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m "
     "basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug"),
    ({"metrics_port": 9090},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 "
     'basecamp/kamal-proxy:v0.9.2 kamal-proxy run --metrics-port "9090"'),
    ({"publish": False},
     f"{DOCKER_RUN} --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
    # test/cli/proxy_test.rb "boot" (run with debug, metrics, options, registry)
    ({"debug": True, "metrics_port": 9090, "options": {"cpus": 1.5},
      "registry": "registry:4443"},
     f"{DOCKER_RUN} --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 "
     '--cpus "1.5" registry:4443/basecamp/kamal-proxy:v0.9.2 '
     'kamal-proxy run --debug --metrics-port "9090"'),
    # From configuration/proxy/run.rb: ports with bind IPs (IPv6 bracketed), options optionized
    # (arrays repeat, true is bare), debug false dropped.
    ({"http_port": 8080, "https_port": 8443, "bind_ips": ["::1"], "debug": False,
      "options": {"label": ["a=b", "c=d"], "memory": "512m", "init": True}},
     f"{DOCKER_RUN} --publish [::1]:8080:80 --publish [::1]:8443:443 --log-opt max-size=10m "
     '--label "a=b" --label "c=d" --memory "512m" --init '
     "basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
    # An empty bind_ips list publishes nothing (Ruby's `[] || [nil]` is `[]`); blank log size.
    ({"bind_ips": [], "log_max_size": ""},
     f"{DOCKER_RUN} basecamp/kamal-proxy:v0.9.2 kamal-proxy run"),
])
def test_run_with_a_run_config(run: dict[str, Any], kamal: str) -> None:
    assert run_argv(run) == argv(kamal)


def test_run_without_a_run_config_is_the_legacy_boot_config() -> None:
    # commands/proxy.rb#run without proxy/run: `echo <boot config> | xargs docker run ...`, the
    # boot config being its defaults (boot_config files are Kamal's deprecated `proxy boot_config`).
    echoed = '--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 '
    assert run_argv(None) == argv(DOCKER_RUN) + argv(echoed)
    assert proxy_kamal.image(None) == "basecamp/kamal-proxy:v0.9.2"


def test_host_proxy_data(load):
    config = load(variant(proxy={"run": {"registry": "registry:4443", "version": "v0.9.3"}}))
    data = host_proxy(config, "10.0.0.1")
    assert data == {
        "engine": "kamal-proxy", "container": "kamal-proxy",
        "image": "registry:4443/basecamp/kamal-proxy:v0.9.3",
        "run_args": proxy_kamal.run_args({"registry": "registry:4443", "version": "v0.9.3"}),
        "directories": [".kamal/proxy/apps-config"], "files": [],
        "image_title": "kamal-proxy", "admin_socket": None,
        "boot_config": None,  # proxy/run is set: the boot_config files are not read
    }
    assert data["run_args"][-3:] == ["registry:4443/basecamp/kamal-proxy:v0.9.3", "kamal-proxy",
                                     "run"]


# -- kamal-proxy deploy ------------------------------------------------------------------------

def deploy_argv(config: Any, role: str = "web") -> list[str]:
    proxy = role_proxy(config, config.role(role))
    assert proxy is not None
    return ["docker", "exec", "kamal-proxy", "kamal-proxy", "deploy", proxy["service"],
            "--target=172.1.0.2:80", *proxy["deploy_args"]]


DEPLOY = 'docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80"'
TIMEOUTS = '--deploy-timeout="30s" --drain-timeout="30s"'
BUFFERS = "--buffer-requests --buffer-responses"


@pytest.mark.parametrize(("proxy", "kamal"), [
    # test/commands/app_test.rb "deploy", "deploy with SSL false"
    (None, f"{DEPLOY} {TIMEOUTS} {BUFFERS} {LOG_HEADERS}"),
    ({"ssl": False}, f"{DEPLOY} {TIMEOUTS} {BUFFERS} {LOG_HEADERS}"),
    # "deploy with SSL", "deploy with SSL targeting multiple hosts"
    ({"ssl": True, "host": "example.com"},
     f'{DEPLOY} --host="example.com" --tls {TIMEOUTS} {BUFFERS} {LOG_HEADERS}'),
    ({"ssl": True, "hosts": ["example.com", "anotherexample.com"]},
     f'{DEPLOY} --host="example.com" --host="anotherexample.com" --tls {TIMEOUTS} {BUFFERS} '
     f"{LOG_HEADERS}"),
    # Built from configuration/proxy.rb#deploy_options, key by key in its order.
    ({"host": "a.com,b.com", "healthcheck": {"path": "/health", "interval": 3, "timeout": 2},
      "response_timeout": 10,
      "buffering": {"requests": False, "responses": True, "memory": 2_000_000,
                    "max_request_body": 40_000_000, "max_response_body": 0},
      "path_prefix": "/api,/oauth", "strip_path_prefix": False, "forward_headers": True,
      "ssl_redirect": False,
      "logging": {"request_headers": ["X-A"], "response_headers": ["X-B", "X-C"]}},
     f'{DEPLOY} --host="a.com" --host="b.com" {TIMEOUTS} --health-check-interval="3s" '
     '--health-check-timeout="2s" --health-check-path="/health" --target-timeout="10s" '
     '--buffer-requests="false" --buffer-responses --buffer-memory="2000000" '
     '--max-request-body="40000000" --max-response-body="0" --path-prefix="/api" '
     '--path-prefix="/oauth" --strip-path-prefix="false" --forward-headers '
     '--tls-redirect="false" --log-request-header="X-A" --log-response-header="X-B" '
     '--log-response-header="X-C"'),
    # path_prefixes as a list; an empty request header list logs none (Ruby: `[] || default`).
    ({"path_prefixes": ["/a", "/b"], "logging": {"request_headers": []}},
     f'{DEPLOY} {TIMEOUTS} {BUFFERS} --path-prefix="/a" --path-prefix="/b"'),
])
def test_deploy_args(load, proxy: dict[str, Any] | None, kamal: str) -> None:
    config = load(variant(proxy=proxy) if proxy is not None else variant())
    assert deploy_argv(config) == argv(kamal)


def test_deploy_args_with_timeouts_per_role(load):
    # test/cli/app_test.rb: deploy_timeout 6, role response_timeout over the root's.
    config = load(variant(deploy_timeout=6, proxy={"response_timeout": 10},
                          servers={"web": ["10.0.0.1"],
                                   "web2": {"hosts": ["10.0.0.2"],
                                            "proxy": {"response_timeout": 15}}}))
    assert deploy_argv(config, "web")[7:9] == ["--deploy-timeout=6s", "--drain-timeout=30s"]
    assert "--target-timeout=10s" in deploy_argv(config, "web")
    assert "--target-timeout=15s" in deploy_argv(config, "web2")
    assert deploy_argv(config, "web2")[5] == "app-web2"


def test_deploy_args_with_custom_certificate_and_error_pages(load, tmp_path):
    # configuration/proxy.rb: tls paths per role under the app's apps-config; error pages per
    # version (test/cli/app_test.rb: --tls-certificate-path=".../app/tls/web/cert.pem").
    config = load(variant(proxy={"host": "a.com", "ssl": {"certificate_pem": "CERT",
                                                          "private_key_pem": "KEY"}},
                          error_pages_path="public"), version="v7")
    args = deploy_argv(config)
    assert args[7:10] == ["--host=a.com", "--tls",
                         "--tls-certificate-path=/home/kamal-proxy/.apps-config/app/tls/web/"
                         "cert.pem"]
    assert args[10] == "--tls-private-key-path=/home/kamal-proxy/.apps-config/app/tls/web/key.pem"
    assert args[-1] == "--error-pages=/home/kamal-proxy/.apps-config/app/error_pages/v7"
    tls = role_proxy(config, config.role("web"))["tls"]
    assert tls == {"directory": ".kamal/proxy/apps-config/app/tls/web",
                   "certificate_path": ".kamal/proxy/apps-config/app/tls/web/cert.pem",
                   "private_key_path": ".kamal/proxy/apps-config/app/tls/web/key.pem",
                   "certificate_pem_secret": "CERT", "private_key_pem_secret": "KEY",
                   "certificate_pem_env": "KDEPLOY_SECRET_CERT",
                   "private_key_pem_env": "KDEPLOY_SECRET_KEY"}


def test_role_proxy_data(load):
    config = load(variant(proxy={"app_port": 3000, "healthcheck": {"path": "/health"}}))
    proxy = role_proxy(config, config.role("web"))
    assert proxy is not None
    assert (proxy["service"], proxy["app_port"], proxy["healthcheck"], proxy["route"],
            proxy["tls"]) == ("app-web", 3000, {"path": "/health", "interval": 1, "timeout": 5},
                              None, None)


# -- what the shell makes of Kamal's escaping ------------------------------------------------

@pytest.mark.parametrize(("value", "received"), [
    ("plain", "plain"), (9090, "9090"), (1.5, "1.5"), (False, "false"), (None, ""),
    ('say "hi"', 'say "hi"'), ("a\\b", "a\\b"), ("$HOME", "$HOME"), ("`x`", "`x`"),
    ("tab\there", "tab\\there"), ("#{x}", "\\#{x}"), ("#x", "#x"), ("é", "é"),
])
def test_process_value(value: Any, received: str) -> None:
    # Kamal: escape_shell_value = String#dump (+ ` and $ escaped) inside a shell command line.
    assert proxy_kamal.process_value(value) == received
