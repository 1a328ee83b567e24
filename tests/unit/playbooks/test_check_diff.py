"""Check mode and diff mode of every module of the collection, run by the real ansible-playbook.

Each module runs on this machine (`-c local`) against a stub Docker daemon (and a stub Caddy
admin socket) that records every request, with `--check --diff -vvv`: only GET requests may reach
them, no file may appear in the tmp HOME, the diff must show the non-secret before/after, and no
secret value may appear in the output or in the registered results (only the keys may).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from playbook_support import StubDaemon, collections_dir, require_tool, serve_unix

# Secret values with characters that quoting or templating could mangle.
SECRETS = {"KD_TEST_DB_PASSWORD": "s3cr3t-Δ-{{ 7*7 }}-value",
           "KD_TEST_API_KEY": "k3y'with\"quotes\\and-more",
           "KD_TEST_REGISTRY_PASSWORD": "r3gistry-pa55word"}
# A secret that also occurs in the paths the accessory role reads back and mounts.
SHORT_SECRET = {"KD_TEST_DB_USER": "data"}
ROUTE = {"@id": "kdeploy-app-web", "match": [{"host": ["app.test"]}],
         "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "app-web-v1:80"}]}]}

V1 = {"Id": "c1" * 32, "Name": "/app-web-v1", "Image": "sha256:1",
      "State": {"Running": True, "Status": "running"},
      "Config": {"Image": "reg:5000/app:v1", "Hostname": "h-v1", "Env": ["DB_PASSWORD=old"],
                 "Labels": {"service": "app", "role": "web", "destination": "",
                            "kdeploy.spec": "old-hash", "maintainer": "someone"}},
      "HostConfig": {"NetworkMode": "kamal", "RestartPolicy": {"Name": "unless-stopped"},
                     "Binds": ["/data:/data"], "LogConfig": {"Type": "json-file",
                                                             "Config": {"max-size": "10m"}}}}
LISTED = [{"Id": V1["Id"], "Names": ["/app-web-v1"], "Image": "reg:5000/app:v1",
           "State": "running"}]


class Daemons(StubDaemon):
    """Docker (app-web-v1 runs, no v2, no image, no kamal network) and Caddy (the v1 route)."""

    def do_GET(self) -> None:
        self.server.paths.append(f"GET {self.path}")  # type: ignore[attr-defined]
        path = unquote(urlsplit(self.path).path)
        found: Any = None
        if path in ("/containers/app-web-v1/json", f"/containers/{V1['Id']}/json"):
            found = V1
        elif path == "/containers/json":
            found = LISTED
        elif path == "/config/apps/http/servers/kdeploy/routes":
            found = [ROUTE]
        if found is None:
            self.answer(404, b'{"message": "not found"}')
        else:
            self.answer(200, json.dumps(found).encode())

    def refuse(self) -> None:
        self.server.paths.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.answer(500, b'{"message": "the check-mode test refuses changes"}')

    do_POST = do_PUT = do_DELETE = do_PATCH = refuse


def tasks(docker_host: str, caddy: str) -> list[dict[str, Any]]:
    env = "{{ lookup('ansible.builtin.env', '%s') }}"
    spec = {"format": 2, "name": "app-web-v2", "image": "reg:5000/app:v2", "cmd": None,
            "env": {"CLEAR": "shown"}, "labels": {"service": "app", "role": "web"}}
    return [
        {"name": "release", "kdeploy.deploy.release": {
            "name": "app-web-v2", "image": "reg:5000/app:v2", "service": "app", "spec": spec,
            "env_file": ".kamal/apps/app/env/roles/web.env", "hostname": "h-v2",
            "env_secrets": {"DB_PASSWORD": env % "KD_TEST_DB_PASSWORD",
                            "API_KEY": env % "KD_TEST_API_KEY"},
            "registry": {"server": "reg:5000", "username": "deployer",
                         "password": env % "KD_TEST_REGISTRY_PASSWORD"},
            "files": [{"path": ".kamal/proxy/tls/key.pem", "content": env % "KD_TEST_API_KEY"}],
            "labels": {"service": "app", "role": "web", "destination": ""},
            "volumes": ["/data:/data"], "log_options": {"max-size": "10m"},
            "role_labels": {"service": "app", "role": "web", "destination": ""},
            "latest_tag": "reg:5000/app:latest", "retain_containers": 1,
            "audit": {"log": ".kamal/app-audit.log", "tags": ["me"]},
            "docker_host": docker_host}, "register": "release"},
        {"name": "container_state", "kdeploy.deploy.container_state": {
            "name": "app-db", "spec_hash": "abc", "image": "mysql:8",
            "env_file": ".kamal/apps/app/env/accessories/db.env",
            "env_secrets": {"DB_PASSWORD": env % "KD_TEST_DB_PASSWORD",
                            "DB_USER": env % "KD_TEST_DB_USER"},
            "directories": [{"path": "app-db/data", "mode": "0700"}],
            "registry": {"server": "reg:5000", "username": "deployer",
                         "password": env % "KD_TEST_REGISTRY_PASSWORD"},
            "docker_host": docker_host}, "register": "state"},
        {"name": "accessory_boot", "kdeploy.deploy.accessory_boot": {
            "accessory": "cache", "host": "localhost",
            "config": {"service_name": "app-cache", "image": "redis:7", "cmd": None,
                       "published_ports": [], "labels": {"service": "app-cache"},
                       "env": {"CLEAR": "shown"}, "env_file": ".kamal/apps/app/env/cache.env",
                       "directories": [{"path": "app-cache/data", "mount": "/data"}],
                       "files": [], "network": "kamal", "log_options": {}, "docker_args": [],
                       "restart_policy": "unless-stopped"},
            "spec": {"format": 1, "name": "app-cache", "image": "redis:7",
                     "env": {"CLEAR": "shown"}},
            "env_secrets": {"DB_PASSWORD": env % "KD_TEST_DB_PASSWORD"},
            "registry": {"server": "reg:5000", "username": "deployer",
                         "password": env % "KD_TEST_REGISTRY_PASSWORD"},
            "audit": {"log": ".kamal/app-audit.log", "tags": ["me"]},
            "network": "kamal", "docker_host": docker_host}, "register": "accessory"},
        # The module asks for requests (which community.docker needs) after it reached Docker.
        {"name": "docker_network", "kdeploy.deploy.docker_network": {
            "name": "kamal", "docker_host": docker_host},
         "environment": {"PYTHONPATH": "{{ fake_requests }}"}, "register": "network"},
        {"name": "proxy_route", "kdeploy.deploy.proxy_route": {
            "admin_socket": caddy, "container": "app-web-v2",
            "proxy": {"app_port": 80, "route": {**ROUTE, "handle": [
                {"handler": "reverse_proxy", "upstreams": []}]}},
            "docker_host": docker_host}, "register": "route"},
        {"name": "settle", "kdeploy.deploy.settle": {
            "prefixes": ["app-"], "docker_host": docker_host}, "register": "settle"},
        {"name": "results", "check_mode": False, "ansible.builtin.copy": {
            "dest": "{{ results_file }}", "mode": "0600",
            "content": "{{ {'release': release, 'state': state, 'network': network,"
                       " 'route': route, 'settle': settle, 'accessory': accessory}"
                       " | to_json }}"}},
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The play, run once with --check --diff -vvv; what it printed, returned and sent."""
    tmp_path = tmp_path_factory.mktemp("check_diff")
    home = tmp_path / "home"
    home.mkdir()
    fake = tmp_path / "fake" / "requests"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    docker, caddy = tmp_path / "docker.sock", tmp_path / "caddy.sock"
    play = [{"name": "check and diff", "hosts": "localhost", "gather_facts": False,
             "tasks": tasks(f"unix://{docker}", str(caddy))}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    extra = {"ansible_python_interpreter": sys.executable, "fake_requests": str(fake.parent),
             "results_file": str(tmp_path / "results.json")}
    # A process of the "interrupted run": started over the same (pretend) SSH connection.
    # Its client port is this test's pid, so settle never meets another test run's processes.
    connection = {"SSH_CONNECTION": f"10.0.0.9 {os.getpid()} 10.0.0.1 22"}
    sleeper = subprocess.Popen(["sleep", "59"], env={**os.environ, **connection})
    env = {**os.environ, **SECRETS, **SHORT_SECRET, **connection, "HOME": str(home),
           "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "collections")),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp"),
           "ANSIBLE_REMOTE_TMP": str(tmp_path / "remote-tmp"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0"}
    try:
        with serve_unix(docker, Daemons) as docker_requests, \
                serve_unix(caddy, Daemons) as caddy_requests:
            result = subprocess.run(
                [require_tool("ansible-playbook"), "-i", "localhost,", "-c", "local",
                 "--check", "--diff", "-vvv", "-e", json.dumps(extra), "play.yml"],
                cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        alive = sleeper.poll() is None
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    yield {"stdout": result.stdout + result.stderr, "home": home, "sleeper_alive": alive,
           "results": json.loads((tmp_path / "results.json").read_text()),
           "requests": docker_requests + caddy_requests}


def diff_lines(stdout: str, task: str) -> list[str]:
    """The diff lines (`-`/`+`) the default callback printed for one task, blanks collapsed,
    trailing commas dropped."""
    section = stdout.split(f"TASK [{task}]", 1)[1].split("TASK [", 1)[0]
    return [re.sub(r"\s+", " ", line.rstrip().rstrip(",")) for line in section.splitlines()
            if re.match(r"^[-+] ", line)]


def test_check_mode_sends_only_reads_and_writes_no_file(run: dict[str, Any]) -> None:
    assert run["requests"], "the modules never reached the stub daemons"
    assert [r for r in run["requests"] if not r.startswith("GET ")] == []
    # The release, the state, the network and the route each asked what they needed.
    assert any(r.startswith("GET /containers/app-web-v2/json") for r in run["requests"])
    assert any(r.startswith("GET /containers/app-db/json") for r in run["requests"])
    assert any(r.startswith("GET /containers/app-cache/json") for r in run["requests"])
    assert any(r.startswith("GET /networks/kamal") for r in run["requests"])
    assert any("/config/apps/http/servers/kdeploy/routes" in r for r in run["requests"])
    # Ansible keeps its own cache in ~/.ansible; the modules write nothing.
    written = [path for path in run["home"].rglob("*")
               if ".ansible" not in path.relative_to(run["home"]).parts]
    assert written == []
    # settle, in check mode, names what it would stop but signals nothing.
    assert run["sleeper_alive"]


def test_every_module_predicts_a_change_and_shows_its_diff(run: dict[str, Any]) -> None:
    results = run["results"]
    assert results["release"]["changed"] and results["release"]["booted"]
    assert results["release"]["stopped"] == ["app-web-v1"]
    assert results["release"]["network_created"] is True
    assert results["state"]["changed"] and not results["state"]["exists"]
    # The accessory would be booted (no container yet): no run, no login, no audit line.
    assert results["accessory"]["changed"] and results["accessory"]["action"] == "create"
    assert results["accessory"]["kdeploy_outcome"] == {"changes": [
        {"kind": "accessory", "name": "cache", "image": "redis:7", "action": "create"}]}
    assert '+ "exists": true' in diff_lines(run["stdout"], "accessory_boot")
    assert results["network"]["changed"] and results["route"]["changed"]
    release = diff_lines(run["stdout"], "release")
    for expected in ('- "image": "reg:5000/app:v1"', '+ "image": "reg:5000/app:v2"',
                     '- "version": "v1"', '+ "version": "v2"',
                     '- "spec_hash": "old-hash"', '- "hostname": "h-v1"',
                     '+ "hostname": "h-v2"', '+ "network_exists": true'):
        assert expected in release, (expected, "\n".join(release))
    # The env file by its keys, never its values.
    assert any(re.search(r"^\+ .*web\.env: changed \(keys: API_KEY, DB_PASSWORD\)", line)
               for line in release), release
    # Equal fields are not shown; the image's own labels are not the task's.
    assert not any('"restart_policy"' in line or "maintainer" in line for line in release)
    state = diff_lines(run["stdout"], "container_state")
    assert '- "exists": false' in state and '+ "exists": true' in state
    assert '+ "image": "mysql:8"' in state
    assert any("app-db/data" in line for line in state if line.startswith("+"))
    assert '+ "name": "kamal"' in diff_lines(run["stdout"], "docker_network")
    route = "\n".join(diff_lines(run["stdout"], "proxy_route"))
    assert '- "app-web-v1:80"' in route and '+ "app-web-v2:80"' in route
    # settle never reports a change (Ansible prints no diff then); its result carries it.
    assert results["settle"]["diff"] == {"before": {"run_processes": ["sleep 59"]},
                                         "after": {"run_processes": []}}
    assert [p["command"] for p in results["settle"]["waited"]] == ["sleep 59"]


def test_no_secret_value_in_the_output_or_the_results(run: dict[str, Any]) -> None:
    results = json.dumps(run["results"], ensure_ascii=False)
    for value in SECRETS.values():
        for text in (run["stdout"], results):
            assert value not in text
            assert json.dumps(value, ensure_ascii=False)[1:-1] not in text
            assert json.dumps(value)[1:-1] not in text
    # The keys are not secret, and the module's arguments were logged (masked).
    assert "DB_PASSWORD" in run["stdout"] and "API_KEY" in run["stdout"]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run["stdout"] or "********" in run["stdout"]


def test_a_secret_inside_a_path_does_not_mask_the_paths_the_accessory_mounts(
        run: dict[str, Any]) -> None:
    state = run["results"]["state"]
    assert state["directories"] == [str(run["home"] / "app-db" / "data")]
    assert state["env_file"] == str(run["home"] / ".kamal/apps/app/env/accessories/db.env")
    # The values are still never shown: the invocation (-vvv) names the keys only.
    shown = run["stdout"].split("TASK [container_state]", 1)[1].split("TASK [", 1)[0]
    for key in ("DB_PASSWORD", "DB_USER", "registry"):
        assert f'"{key}": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in shown
    assert '"data"' not in shown and "data\n" not in shown
