"""The warm-up's ssh command against the one Ansible builds for the same host (run/warm_up.py).

Every later session of a host shares the master the warm-up opens, so its connection must be the
one Ansible would open: same user, port, keys, agent forwarding, jump host, and the same
ControlPath, or Ansible opens a second master beside it. Ansible's command comes from the real
`ansible` run over the generated private data dir, with an `ssh_executable` that records its
arguments instead of connecting; `ssh -G` then resolves both commands as OpenSSH itself would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from context_helpers import context

from kdeploy.config import Config, load_config
from kdeploy.host_contract.inventory import ssh_vars
from kdeploy.plan import SetupOptions, build_setup_plan
from kdeploy.plan.model import Plan
from kdeploy.run.interpreter_facts import DISCOVERY_COMMAND, FACT
from kdeploy.run.private_data_dir import host_key_checking, write_private_data_dir
from kdeploy.run.process_owner import ProcessOwner
from kdeploy.run.runner import runner_envvars
from kdeploy.run.warm_up import control_path, warm_up_argv, warming_up

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
HOST = "10.0.3.1"
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")

# ssh_executable for `ansible`: writes its arguments, one per line, and fails as ssh would.
RECORDING_SSH = """#!/bin/sh
printf '%s\\n' "$@" > "$0.args"
exit 255
"""
# What the warm-up sets on purpose (BatchMode), what BatchMode makes moot (Ansible's
# NumberOfPasswordPrompts=1 for its askpass) and what Ansible's raw module asks for (a terminal).
_WARM_UP_ONLY = {"batchmode", "numberofpasswordprompts", "requesttty"}


def _load(tmp_path: Path, ssh: dict[str, Any] | None = None,
          extension: dict[str, Any] | None = None) -> Config:
    raw = yaml.safe_load((FIXTURES / "deploy_with_roles.yml").read_text())
    raw["ssh"] = {"config": False, **(ssh or {})}
    if extension is not None:
        raw["x-kdeploy"] = extension
    path = tmp_path / "project" / "config" / "deploy.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path, version="v2", environ={})


def _resolved(argv: list[str]) -> dict[str, str]:
    """What ssh would use for the command `argv` (`ssh -G`, which never connects)."""
    host_at = argv.index(HOST)
    output = subprocess.run(["ssh", "-G", *argv[1:host_at + 1]], capture_output=True, text=True,
                            check=True).stdout
    options: dict[str, str] = {}
    for line in output.splitlines():
        name, _, value = line.partition(" ")
        # Repeated options (identityfile, sendenv) keep every value, in order.
        options[name] = f"{options[name]}\n{value}" if name in options else value
    return options


def _ansibles_command(tmp_path: Path, config: Config, control_dir: Path) -> list[str]:
    directory = tmp_path / "pdd"
    write_private_data_dir(directory, config, build_setup_plan(context(config),
                                                               SetupOptions(skip_push=True)))
    recorder = tmp_path / "ssh"
    recorder.write_text(RECORDING_SSH)
    recorder.chmod(0o755)
    env = {**os.environ, **runner_envvars(directory, host_key_checking(config)),
           "ANSIBLE_SSH_EXECUTABLE": str(recorder),
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir)}
    ansible = Path(sys.executable).parent / "ansible"
    subprocess.run([str(ansible), HOST, "-m", "ansible.builtin.raw", "-a", "true"],
                   cwd=directory / "project", env=env, capture_output=True, check=False)
    return ["ssh", *(tmp_path / "ssh.args").read_text().splitlines()]


@needs_ssh
@pytest.mark.parametrize(("ssh", "extension"), [
    (None, None),
    ({"user": "deploy", "port": 2222, "keys": ["~/.ssh/one", "~/.ssh/two"], "keys_only": True,
      "proxy": "bastion"}, None),
    ({"forward_agent": False}, {"ssh": {"host_key_checking": False}}),
], ids=["defaults", "user-port-keys-proxy", "no-agent-no-checking"])
def test_the_warm_up_opens_the_connection_ansible_would(
        tmp_path: Path, ssh: dict[str, Any] | None, extension: dict[str, Any] | None) -> None:
    config = _load(tmp_path, ssh, extension)
    control_dir = tmp_path / "cp"
    ansibles = _resolved(_ansibles_command(tmp_path, config, control_dir))
    warm_up = _resolved(warm_up_argv(ssh_vars(config), HOST, tmp_path / "pdd" / "project" /
                                     "ssh_config", control_dir, host_key_checking(config)))

    assert ansibles["controlpath"].startswith(f"{control_dir}/")
    assert warm_up["batchmode"] == "yes"
    differing = {name for name in ansibles.keys() | warm_up.keys()
                 if ansibles.get(name) != warm_up.get(name)}
    assert differing <= _WARM_UP_ONLY


def test_the_control_path_stays_short_under_a_long_tmpdir(tmp_path: Path) -> None:
    # A socket's path has at most 107 bytes, and ssh adds `.` and 16 characters while it
    # creates one; ssh's own %C (40 digits) broke kdeploy under a TMPDIR like this one.
    control_dir = Path("/tmp") / ("t" * 40) / "kdeploy-ssh-abcdefgh"
    path = control_path(ssh_vars(_load(tmp_path)), HOST, control_dir)
    assert path.startswith(f"{control_dir}/") and len(path) + 17 < 108


def test_no_warm_up_without_a_control_dir_or_under_mitogen(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **_: started.append(argv))
    config = _load(tmp_path)
    with warming_up(config, [HOST], tmp_path / "ssh_config", None):
        pass
    monkeypatch.setattr("kdeploy.run.warm_up.mitogen_enabled", lambda config: True)
    with warming_up(config, [HOST], tmp_path / "ssh_config", tmp_path):
        pass
    assert started == []


def test_without_an_ssh_client_nothing_warms_and_nothing_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ansible reports the missing client for each host, as it did before there were warm-ups.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with warming_up(_load(tmp_path), [HOST, "10.0.3.2"], tmp_path / "ssh_config", tmp_path):
        pass


def test_a_warm_up_still_connecting_is_stopped_when_the_run_ends(tmp_path: Path) -> None:
    # A host that never answers: its ssh would wait out ConnectTimeout after kdeploy's run.
    config = _load(tmp_path)
    argv_seen: list[list[str]] = []
    real_popen = subprocess.Popen

    def sleeping(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        argv_seen.append(argv)
        return real_popen(["sleep", "30"], **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "Popen", sleeping)
        with warming_up(config, [HOST, "10.0.3.2"], tmp_path / "ssh_config", tmp_path):
            pass
    assert [argv[-2:] for argv in argv_seen] == [[HOST, "true"], ["10.0.3.2", "true"]]
    assert not [p for p in _children() if p.endswith("sleep 30")]


def _answering(script: str, argv_seen: list[list[str]]) -> Any:
    """A Popen that runs `script` (given the host as $1) instead of each warm-up's ssh."""
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        argv_seen.append(argv)
        return real_popen(["sh", "-c", script, "sh", argv[-2]], **kwargs)

    return popen


def _wait_for(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _kept(facts_dir: Path) -> dict[str, str]:
    return {path.name: json.loads(json.loads(path.read_text())["__payload__"])[FACT]
            for path in facts_dir.iterdir()}


def test_a_warm_up_keeps_the_python_each_host_lists(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    argv_seen: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", _answering(
        'printf "FOUND\\n/usr/bin/python-of-%s\\n/usr/bin/python3\\nENDFOUND\\n" "$1"',
        argv_seen))
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    with warming_up(_load(tmp_path), [HOST, "10.0.3.2"], tmp_path / "ssh_config", tmp_path,
                    facts_dir):
        _wait_for(lambda: len(list(facts_dir.iterdir())) == 2)  # the run goes on meanwhile
    assert [argv[-1] for argv in argv_seen] == [DISCOVERY_COMMAND, DISCOVERY_COMMAND]
    assert _kept(facts_dir) == {f"s1_{HOST}": f"/usr/bin/python-of-{HOST}",
                                "s1_10.0.3.2": "/usr/bin/python-of-10.0.3.2"}


def test_with_a_python_in_the_config_the_warm_up_only_connects(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ansible discovers nothing then (x-kdeploy/python_interpreter is taken literally).
    argv_seen: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", _answering(
        'printf "FOUND\\n/usr/bin/python3\\nENDFOUND\\n"', argv_seen))
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    config = _load(tmp_path, extension={"python_interpreter": "/opt/python/bin/python3"})
    with warming_up(config, [HOST], tmp_path / "ssh_config", tmp_path, facts_dir):
        pass
    assert [argv[-1] for argv in argv_seen] == ["true"]
    assert _kept(facts_dir) == {}


def test_a_warm_up_cut_before_its_listing_ends_keeps_nothing(tmp_path: Path) -> None:
    # Stopped when the run ends, part way through its answer: Ansible discovers that host.
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    config = _load(tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "Popen", _answering(
            'printf "FOUND\\n/usr/bin/python3.11\\n"; exec sleep 30', []))
        with warming_up(config, [HOST], tmp_path / "ssh_config", tmp_path, facts_dir):
            time.sleep(0.3)  # the first lines are out
    assert _kept(facts_dir) == {}
    assert not [p for p in _children() if p.endswith("sleep 30")]


def _children() -> list[str]:
    own = str(os.getpid())
    result = subprocess.run(["ps", "-o", "ppid=,args=", "-e"], capture_output=True, text=True,
                            check=True).stdout
    return [line.split(None, 1)[1] for line in result.splitlines()
            if line.split(None, 1)[0] == own]


def _warmed_by_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config,
                    runs: list[tuple[str, ...]]) -> list[list[str]]:
    """The hosts each of `runs` (a plan's connect_ahead) warms in one command."""
    from kdeploy.run import runner

    warmed: list[list[str]] = []

    class Warming:
        def __init__(self, config: Config, hosts: list[str], *_: object) -> None:
            warmed.append(list(hosts))

        def __enter__(self) -> None:
            return None

        def __exit__(self, *_: object) -> None:
            return None

    class Stopped(Exception):
        pass

    def stop_before_ansible(**_: object) -> None:
        raise Stopped

    monkeypatch.setattr(runner, "warming_up", Warming)
    monkeypatch.setattr("ansible_runner.run", stop_before_ansible)
    with ProcessOwner() as owner:
        for index, hosts in enumerate(runs):
            with pytest.raises(Stopped):
                runner._run_in(tmp_path / f"run{index}", config,
                               Plan(command="deploy", imports=(), connect_ahead=hosts),
                               {}, lambda event: None, owner, True)
    return warmed


def test_each_host_is_warmed_once_per_command(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    warmed = _warmed_by_runs(tmp_path, monkeypatch, _load(tmp_path),
                             [(HOST, "10.0.3.2"), (HOST, "10.0.3.3")])
    assert warmed == [[HOST, "10.0.3.2"], ["10.0.3.3"]]


def test_no_more_hosts_warm_at_once_than_ansibles_forks(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load(tmp_path, extension={"forks": 2})
    warmed = _warmed_by_runs(tmp_path, monkeypatch, config, [(HOST, "10.0.3.2", "10.0.3.3")])
    assert warmed == [[HOST, "10.0.3.2"]]
