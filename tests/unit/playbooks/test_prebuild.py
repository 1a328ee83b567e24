"""The payload prebuild callback (plugins/callback/prebuild.py), with the real ansible-playbook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from playbook_support import PLUGINS, REPO, _load_file, collections_dir, require_tool

from kdeploy import ansible_yaml

prebuild = _load_file("kdeploy_prebuild_callback", PLUGINS / "callback" / "prebuild.py")

# Play 1 only waits (its pause has no payload), so the builder, forked when the playbook starts,
# takes the payload's lock long before play 2's worker asks for it.
PLAYBOOK = [
    {"name": "Wait", "hosts": "localhost", "gather_facts": False,
     "tasks": [{"name": "Pause.", "ansible.builtin.pause": {"seconds": 1}}]},
    {"name": "Use a kdeploy module", "hosts": "localhost", "gather_facts": False,
     "tasks": [{"name": "Ensure a network on a daemon that is not there.",
                "kdeploy.deploy.docker_network": {"name": "kamal",
                                                  "docker_host": "unix:///nonexistent.sock"},
                "register": "probe", "failed_when": False},
               {"name": "Show the probe.", "ansible.builtin.debug": {"var": "probe.msg"}}]},
]
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])  # community.docker
DEBUG_LINE = re.compile(r"^\s*(?P<pid>\d+) \d+\.\d+: (?P<message>.*)$")
NETWORK_CACHE = "kdeploy.deploy.plugins.modules.docker_network-"


def _run(tmp_path: Path, enabled: bool, cache: Path | None = None,
         collections: Path | None = None) -> list[tuple[int, str]]:
    """Run PLAYBOOK on localhost under ANSIBLE_DEBUG; the debug lines as (pid, message).

    `cache`: the prebuild's store of payloads (none by default); `collections`: where
    kdeploy.deploy is (this tree by default).
    """
    playbook = tmp_path / "play.yml"
    playbook.write_text(ansible_yaml.dump(PLAYBOOK))
    collections = collections or collections_dir(tmp_path / "collections")
    env = {**os.environ, "ANSIBLE_DEBUG": "1", "ANSIBLE_COLLECTIONS_PATH":
           f"{collections}:{SITE_PACKAGES}", "KDEPLOY_PAYLOAD_CACHE": str(cache or ""),
           "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    if enabled:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "kdeploy.deploy.prebuild"
    result = subprocess.run(
        [require_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "nonexistent.sock" in result.stdout  # the module ran, and answered
    return [(int(m["pid"]), m["message"]) for line in result.stdout.splitlines()
            if (m := DEBUG_LINE.match(line))]


def _main_pid(lines: list[tuple[int, str]]) -> int:
    return next(pid for pid, message in lines if message.startswith("Loading CallbackModule"))


def _builders(lines: list[tuple[int, str]]) -> list[int]:
    """The pids whose lines built the network module's payload."""
    building = {pid for pid, message in lines
                if message.startswith("ANSIBALLZ: Lock acquired") and NETWORK_CACHE in message}
    return [pid for pid, message in lines
            if pid in building and message == "ANSIBALLZ: Creating module"]


def test_the_payload_is_built_by_the_forked_builder_not_by_the_task(tmp_path: Path) -> None:
    lines = _run(tmp_path, enabled=True)
    main = _main_pid(lines)
    builders = _builders(lines)
    # Built once, by a process of its own (the builder writes its lines itself), and the task's
    # worker (whose lines the main process prints) found it built.
    assert len(builders) == 1
    assert builders[0] != main
    found = ("ANSIBALLZ: using cached module", "ANSIBALLZ: Lock acquired")
    assert any(pid == main and NETWORK_CACHE in message and message.startswith(found)
               for pid, message in lines)


def test_without_the_callback_the_task_builds_the_payload(tmp_path: Path) -> None:
    # The control for the test above: its assertions tell the two cases apart.
    lines = _run(tmp_path, enabled=False)
    assert _builders(lines) == [_main_pid(lines)]


def _collection_copy(root: Path) -> Path:
    """A copy of this tree's collection under root (a collections path), to edit."""
    copy = root / "ansible_collections" / "kdeploy" / "deploy"
    for name in ("galaxy.yml", "meta", "plugins"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy / name)
    return root


def _kept(cache: Path) -> list[str]:
    return sorted(path.name.split("@")[0] + path.suffix for path in cache.iterdir())


def test_a_kept_payload_is_copied_not_built_until_a_source_changes(tmp_path: Path) -> None:
    cache = tmp_path / "payloads"
    collections = _collection_copy(tmp_path / "copy")
    network_utils = (collections / "ansible_collections" / "kdeploy" / "deploy" / "plugins"
                     / "module_utils" / "docker_api.py")
    first = _run(tmp_path, True, cache, collections)
    assert len(_builders(first)) == 1
    assert _kept(cache) == ["kdeploy.deploy.docker_network.json",
                            "kdeploy.deploy.docker_network.payload"]
    assert cache.stat().st_mode & 0o777 == 0o700

    # The next run copies it: nobody builds, and the task's worker finds it in the run's cache.
    again = _run(tmp_path, True, cache, collections)
    assert _builders(again) == []
    assert any(NETWORK_CACHE in message and message.startswith("ANSIBALLZ: using cached module")
               for _, message in again)

    # An edit of a module_utils file the module imports: built again, and kept instead.
    status = network_utils.stat()
    os.utime(network_utils, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    edited = _run(tmp_path, True, cache, collections)
    assert len(_builders(edited)) == 1
    assert _main_pid(edited) not in _builders(edited)
    assert _kept(cache) == ["kdeploy.deploy.docker_network.json",
                            "kdeploy.deploy.docker_network.payload"]


def test_a_store_others_may_write_to_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "payloads"
    cache.mkdir()
    cache.chmod(0o777)
    lines = _run(tmp_path, True, cache)
    assert len(_builders(lines)) == 1  # built, as without a store
    assert list(cache.iterdir()) == []


TASKS: list[dict[str, object]] = [
    {"name": "Network.", "kdeploy.deploy.docker_network": {"name": "kamal"}, "tags": ["net"]},
    {"name": "Debug.", "ansible.builtin.debug": {"msg": "x"}},
    {"block": [{"name": "Release.", "kdeploy.deploy.release": {"image": "x"}, "tags": ["app"]}],
     "rescue": [{"name": "Settle.", "kdeploy.deploy.settle": {}, "tags": ["app"]}]},
    {"name": "Network again.", "kdeploy.deploy.docker_network": {"name": "other"},
     "tags": ["net"]},
]
# What module_paths picks, from plays Ansible itself parsed (in a process of its own, where the
# collection loader is set up as ansible-playbook sets it up).
MODULE_PATHS = """
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.playbook import Playbook
from ansible.plugins.loader import init_plugin_loader
from ansible.vars.manager import VariableManager

init_plugin_loader()
from ansible_collections.kdeploy.deploy.plugins.callback.prebuild import module_paths

loader = DataLoader()
plays = Playbook.load(sys.argv[1], VariableManager(loader=loader), loader).get_plays()
print(json.dumps(module_paths(plays, json.loads(sys.argv[2]), json.loads(sys.argv[3]))))
"""


def _module_paths(tmp_path: Path, only_tags: list[str], skip_tags: list[str]) -> dict[str, str]:
    playbook = tmp_path / "tasks.yml"
    playbook.write_text(ansible_yaml.dump([{"hosts": "all", "gather_facts": False,
                                            "tasks": TASKS}]))
    result = subprocess.run(
        [sys.executable, "-c", MODULE_PATHS, str(playbook), json.dumps(only_tags),
         json.dumps(skip_tags)], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path / "c"))})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_module_paths_lists_the_selected_kdeploy_modules_in_play_order(tmp_path: Path) -> None:
    paths = _module_paths(tmp_path, ["all"], [])
    assert list(paths) == ["kdeploy.deploy.docker_network", "kdeploy.deploy.release",
                           "kdeploy.deploy.settle"]
    assert all(Path(path).name == f"{name.rsplit('.', 1)[1]}.py" and Path(path).is_file()
               for name, path in paths.items())
    # The run's tags: a module whose every task is skipped is not built.
    assert list(_module_paths(tmp_path, ["app"], [])) == ["kdeploy.deploy.release",
                                                          "kdeploy.deploy.settle"]
    assert _module_paths(tmp_path, ["all"], ["net", "app"]) == {}


KEYS = """
import json, sys
from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
from ansible_collections.kdeploy.deploy.plugins.plugin_utils import payload_cache

walked = []
walk = payload_cache._python_files
payload_cache._python_files = lambda roots: walked.append([str(r) for r in roots]) or walk(roots)
cache = payload_cache.PayloadCache(sys.argv[1])
keys = [cache.key("kdeploy.deploy." + name, sys.argv[2] + "/" + name + ".py", "ZIP_DEFLATED")
        for name in ("release", "settle", "release")]
print(json.dumps({"keys": keys, "walked": walked}))
"""


def test_a_store_walks_the_module_utils_once_and_keys_each_module_apart(tmp_path: Path) -> None:
    collections = collections_dir(tmp_path / "c")
    modules = collections / "ansible_collections" / "kdeploy" / "deploy" / "plugins" / "modules"
    result = subprocess.run(
        [sys.executable, "-c", KEYS, str(tmp_path / "store"), str(modules)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections)})
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    release, settle, release_again = seen["keys"]
    assert release == release_again != settle
    # Both modules import from the same module_utils (ansible's and kdeploy's): one walk.
    assert len(seen["walked"]) == 1
    assert any(root.endswith("ansible/module_utils") for root in seen["walked"][0])


def test_stop_builder_kills_a_builder_that_still_runs_and_reaps_it() -> None:
    busy = subprocess.Popen(["sleep", "60"])
    prebuild.stop_builder(busy.pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(busy.pid, os.WNOHANG)  # reaped: no such child any more
    busy.returncode = -9  # reaped behind Popen's back; keep its finalizer quiet


def test_stop_builder_reaps_a_finished_builder() -> None:
    done = subprocess.Popen(["true"])
    while _state(done.pid) != "Z":  # exited, not reaped yet
        time.sleep(0.01)
    prebuild.stop_builder(done.pid)
    assert not os.path.exists(f"/proc/{done.pid}")
    done.returncode = 0
    prebuild.stop_builder(None)  # nothing was started: nothing to do


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
