"""`kdeploy proxy boot_config set|get|reset`: Kamal 2.11's files, its shell commands, the plan.

The file contents follow lib/kamal/cli/proxy.rb (boot_config) and configuration/proxy/boot.rb;
the e2e test compares them with the real Kamal's on the sandbox. The last tests run the
generated playbooks on this machine (a fake `docker` records its argv): `set` writes the files,
`get` prints them, `reset` removes them, and `proxy boot` runs what they say.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from context_helpers import context
from test_plan_app_commands import FAKE_DOCKER, REGISTRY, _argv, _config, _recorded

from kdeploy.config import load_config
from kdeploy.errors import UsageError
from kdeploy.host_contract.proxy import host_proxy
from kdeploy.host_contract.proxy_boot_config import (
    BootConfigOptions,
    boot_config_files,
    escape_shell_value,
    read_command,
)
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.plan.proxy import build_proxy_plan
from kdeploy.plan.proxy_boot_config import build_proxy_boot_config_plan
from kdeploy.run.private_data_dir import write_private_data_dir
from kdeploy.sandbox.example import deploy_config

NO_FILES = {"options": None, "image": None, "image_version": None, "run_command": None}


@pytest.mark.parametrize(("options", "files"), [
    # Kamal's defaults (explicit or not) remove every file.
    (BootConfigOptions(), NO_FILES),
    (BootConfigOptions(http_port=80, log_max_size="10m", repository="basecamp"), NO_FILES),
    (BootConfigOptions(http_port=8080, metrics_port=9090, debug=True,
                       docker_options=("label=a=b", "memory=1g")),
     NO_FILES | {
         "options": "--publish 8080:80 --publish 443:443 --log-opt max-size=10m "
                    "--expose=9090 --label=a=b --memory=1g",
         "run_command": 'kamal-proxy run --debug --metrics-port "9090"'}),
    (BootConfigOptions(publish=False, log_max_size=""), NO_FILES | {"options": ""}),
    (BootConfigOptions(publish_host_ip=("127.0.0.1", "::1")), NO_FILES | {
        "options": "--publish 127.0.0.1:80:80 --publish 127.0.0.1:443:443 "
                   "--publish [::1]:80:80 --publish [::1]:443:443 --log-opt max-size=10m"}),
    # The repository is Kamal's `repository_name`: `kamal-proxy` is appended to it.
    (BootConfigOptions(registry="reg:5000", repository="acme", image_version="v0.9.3"),
     NO_FILES | {"image": "reg:5000/acme/kamal-proxy", "image_version": "v0.9.3"}),
])
def test_set_writes_what_kamal_writes(options: BootConfigOptions,
                                      files: dict[str, str | None]) -> None:
    assert boot_config_files(options) == files


def test_an_invalid_publish_ip_is_kamals_error() -> None:
    with pytest.raises(UsageError, match=r"Invalid publish IP address: example\.com"):
        boot_config_files(BootConfigOptions(publish_host_ip=("example.com",)))


@pytest.mark.parametrize(("value", "escaped"), [
    (9090, '"9090"'),
    ('a "b" \\ `c` $HOME ${X}', '"a \\"b\\" \\\\ \\`c\\` \\$HOME ${X}"'),
    ("#{x} tab\t", '"\\#{x} tab\\t"'),
    ("héllo", '"h"é"llo"'),
])
def test_escape_shell_value_is_kamals(value: object, escaped: str) -> None:
    assert escape_shell_value(value) == escaped


def test_the_plan_runs_on_the_proxy_hosts_without_the_lock() -> None:
    plan = build_proxy_boot_config_plan(context(_config()), "set",
                                        BootConfigOptions(http_port=8080))
    assert plan.command == "proxy boot_config set"
    assert plan.imports == (PlaybookImport("proxy_boot_config.yml", ("proxy",),
                                           {"proxy_hosts": "10.0.3.1,10.0.3.2"}),)
    assert (plan.limit, plan.lock_host, plan.report_task) == ("10.0.3.1,10.0.3.2", None, None)
    assert plan.extravars["proxy_boot_config_files"]["options"].startswith("--publish 8080:80")
    get = build_proxy_boot_config_plan(context(_config()), "get")
    assert get.report_task == "Read the proxy boot config."
    assert get.extravars == {"proxy_boot_config_action": "get",
                             "proxy_boot_config_read": read_command()}


def test_caddy_and_unknown_subcommands_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Unknown boot_config subcommand show"):
        build_proxy_boot_config_plan(context(_config()), "show")
    with pytest.raises(UsageError, match="No proxy hosts inside the filters"):
        build_proxy_boot_config_plan(context(_config(), roles="workers"), "get")
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1"])
    config["servers"]["web"]["proxy"] = True
    config["x-kdeploy"] = {"proxy": {"engine": "caddy"}}
    config_file = tmp_path / "deploy.yml"
    config_file.write_text(yaml.safe_dump(config))
    caddy = load_config(config_file, version="v1", environ={})
    with pytest.raises(UsageError, match=r"caddy engine has no boot config files; configure "
                                         r"its image in x-kdeploy/proxy"):
        build_proxy_boot_config_plan(context(caddy), "set")


def test_only_a_proxy_without_run_config_boots_from_the_files(tmp_path: Path) -> None:
    assert host_proxy(_config(), "10.0.3.1")["boot_config"]["read"] == read_command()
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1"])
    config["servers"]["web"]["proxy"] = {"run": {"http_port": 8080}}
    config_file = tmp_path / "deploy.yml"
    config_file.write_text(yaml.safe_dump(config))
    assert host_proxy(load_config(config_file, version="v1", environ={}),
                      "10.0.99.1")["boot_config"] is None


@pytest.fixture
def proxied_config(tmp_path: Path) -> Path:
    config = deploy_config(REGISTRY, "/nonexistent/key", ["10.0.99.1", "10.0.99.2"])
    config["servers"]["web"]["proxy"] = True
    config_file = tmp_path / "config" / "deploy.yml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(config))
    return config_file


def _run_locally(config_file: Path, plan: Plan, home: Path, work: Path) -> list[list[str]]:
    """Run the plan's playbook here with HOME=home and a fake docker; return docker's argvs."""
    ansible_playbook = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    if ansible_playbook is None:
        pytest.skip("ansible-playbook is not installed")
    config = load_config(config_file, version="v1", environ={})
    directory, bin_dir, log = work / "pdd", work / "bin", work / "docker.log"
    write_private_data_dir(directory, config, plan)
    bin_dir.mkdir()
    home.mkdir(exist_ok=True)
    # No proxy container here: `docker container start` fails, so boot runs `docker run`.
    (bin_dir / "docker").write_text(
        FAKE_DOCKER + 'if [ "$1 $2" = "container start" ]; then exit 1; fi\n')
    (bin_dir / "docker").chmod(0o755)
    result = subprocess.run(
        [ansible_playbook, "-i", "../inventory/hosts.yml", "-e", "@../env/extravars",
         "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", "registry_stored=true", plan.playbook, *plan.ansible_playbook_args()],
        cwd=directory / "project", capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "HOME": str(home), "FAKE_DOCKER_LOG": str(log),
             "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
             "ANSIBLE_CONFIG": str(directory / "project" / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return _recorded(log)


def _boot_config_plan(config_file: Path, action: str,
                      options: BootConfigOptions | None = None):  # type: ignore[no-untyped-def]
    config = load_config(config_file, version="v1", environ={})
    return build_proxy_boot_config_plan(context(config, hosts="10.0.99.1"), action, options)


def test_set_get_reset_and_boot_on_a_host(proxied_config: Path, tmp_path: Path) -> None:
    home, directory = tmp_path / "home", tmp_path / "home" / ".kamal" / "proxy"
    options = BootConfigOptions(http_port=8080, registry=REGISTRY, image_version="v0.9.3",
                                metrics_port=9090)
    assert _run_locally(proxied_config, _boot_config_plan(proxied_config, "set", options),
                        home, tmp_path / "set") == []
    written = {path.name: (path.read_text(), oct(path.stat().st_mode & 0o777))
               for path in directory.iterdir()}
    assert written == {
        "options": ("--publish 8080:80 --publish 443:443 --log-opt max-size=10m --expose=9090",
                    "0o640"),
        "image": (f"{REGISTRY}/basecamp/kamal-proxy", "0o640"),
        "image_version": ("v0.9.3", "0o640"),
        "run_command": ('kamal-proxy run --metrics-port "9090"', "0o640")}
    # What `get` prints: the files, as Kamal's echo reads them.
    shown = subprocess.run(["sh", "-c", read_command()], cwd=home, capture_output=True,
                           text=True, check=True).stdout
    assert shown == ("--publish 8080:80 --publish 443:443 --log-opt max-size=10m --expose=9090 "
                     f"{REGISTRY}/basecamp/kamal-proxy:v0.9.3 "
                     'kamal-proxy run --metrics-port "9090"\n')

    # `proxy boot` pipes them into `xargs docker run` (the fake docker records the argv).
    config = load_config(proxied_config, version="v1", environ={})
    boot = build_proxy_plan(context(config, hosts="10.0.99.1"), "boot")
    calls = _run_locally(proxied_config, boot, home, tmp_path / "boot")
    assert calls[-1] == _argv(
        "docker run --name kamal-proxy --network kamal --detach --restart unless-stopped "
        "--volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy "
        f"--volume {home}/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config "
        "--publish 8080:80 --publish 443:443 --log-opt max-size=10m --expose=9090 "
        f"{REGISTRY}/basecamp/kamal-proxy:v0.9.3 kamal-proxy run --metrics-port 9090")

    # A second set with Kamal's defaults removes what they cover; reset removes the rest.
    _run_locally(proxied_config, _boot_config_plan(
        proxied_config, "set", BootConfigOptions(image_version="v0.9.3")), home,
        tmp_path / "again")
    assert sorted(path.name for path in directory.iterdir()) == ["apps-config", "image_version"]
    _run_locally(proxied_config, _boot_config_plan(proxied_config, "reset"), home,
                 tmp_path / "reset")
    assert sorted(path.name for path in directory.iterdir()) == ["apps-config"]
