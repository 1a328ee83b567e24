# MIT License (kdeploy)
"""Build the payloads of kdeploy's modules while ansible-playbook is still starting.

Ansible builds a module's payload (the module with every module_utils file it imports, zipped:
AnsiballZ) the first time a task of the run uses the module, inside that task's worker, and
caches it for the rest of the run in its local temporary directory. The first task pays for
it: 0.2 to 0.3 s of CPU on its host's critical path, once per distinct module. `kdeploy setup`
meets three (docker_network, accessory_boot, release) one after the other on the accessory's
host.

When the playbook starts, this callback forks one process that builds the payloads of the
kdeploy.deploy modules the playbook's plays name, in play order, through Ansible's own
`modify_module`: the same function, cache file and lock a worker uses. A worker that needs a
payload the process is still building waits on that lock, then reads the file; one that comes
later reads the file. So nothing is built twice, and the builds run on another core while
ansible-playbook loads its plays and runs the first ones (the lock, the checks).

Ansible's cache lives as long as the run. The builder also keeps each payload it built in a
store of its own (option cache_dir, plugin_utils/payload_cache.py) under a key of every file it
could be built from, and a later run copies it from there instead of building it again: the
build's CPU is then spent once per edit or upgrade, not once per run.

The process touches no host. It is reaped when the playbook ends and killed then if it still
runs, before Ansible removes its temporary directory. Anything that goes wrong in it is ignored:
the worker then builds the payload itself, as without this callback.

kdeploy enables the callback in the ansible.cfg it generates (not under mitogen, which does not
use these payloads).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ansible import constants as C
from ansible import context
from ansible.executor.module_common import modify_module
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import module_loader
from ansible.template import Templar
from ansible_collections.kdeploy.deploy.plugins.plugin_utils.payload_cache import PayloadCache

DOCUMENTATION = """
name: prebuild
type: aggregate
short_description: Build the payloads of kdeploy's modules while the playbook starts.
description:
  - Forks one process at the playbook's start that builds the AnsiballZ payloads of the
    kdeploy.deploy modules named by the playbook's plays (tasks the run's tags select), so that
    the first task to use each module finds it in Ansible's cache.
  - The process touches no host and is reaped (killed if still running) when the playbook ends.
requirements:
  - enabled in callbacks_enabled (kdeploy's generated ansible.cfg does it)
options:
  cache_dir:
    description:
      - Where payloads are kept from one run to the next, each under a key of its module, the
        ansible-core version and the size and mtime of every file it could be built from, so a
        later run copies it instead of building it. Made 0700; not used when another user owns
        it or others may write to it.
      - Unset, C($XDG_CACHE_HOME/kdeploy/payloads), else C(~/.cache/kdeploy/payloads). Empty,
        nothing is kept.
    type: str
    env:
      - name: KDEPLOY_PAYLOAD_CACHE
    ini:
      - section: callback_kdeploy_prebuild
        key: cache_dir
"""

COLLECTION = "kdeploy.deploy."


class CallbackModule(CallbackBase):
    """Fork the payload builder at the playbook's start; reap it at its end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kdeploy.deploy.prebuild"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.builder = None

    def v2_playbook_on_start(self, playbook):
        """Start building the payloads of the playbook's kdeploy modules."""
        paths = module_paths(playbook.get_plays(), context.CLIARGS.get("tags") or ("all",),
                             context.CLIARGS.get("skip_tags") or ())
        if paths:
            self.builder = start_builder(paths, self.cache_dir())

    def cache_dir(self):
        """Where payloads are kept between runs; None for nowhere."""
        directory = self.get_option("cache_dir")
        if directory is None:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
            directory = os.path.join(base, "kdeploy", "payloads")
        return directory or None

    def v2_playbook_on_stats(self, stats):
        """Stop the builder if it still runs, and reap it."""
        stop_builder(self.builder)
        self.builder = None


def module_paths(plays, only_tags, skip_tags):
    """Module name -> source path, for the kdeploy.deploy modules the plays' selected tasks use.

    In the order the plays name them, so the first needed is the first built. Tasks that an
    include brings in at run time are not known yet, and are left to their workers.
    """
    paths = {}
    for play in plays:
        for block in play.compile():
            for task in _tasks(block):
                name = task.resolved_action or task.action
                if not name.startswith(COLLECTION) or name in paths:
                    continue
                if not _selected(task, only_tags, skip_tags):
                    continue
                found = module_loader.find_plugin_with_context(
                    name, collection_list=task.collections)
                if found.resolved and found.plugin_resolved_path.endswith(".py"):
                    paths[name] = found.plugin_resolved_path
    return paths


def _tasks(block):
    for item in (*block.block, *block.rescue, *block.always):
        if hasattr(item, "block"):
            yield from _tasks(item)
        else:
            yield item


def _selected(task, only_tags, skip_tags):
    try:
        return task.evaluate_tags(only_tags, skip_tags, all_vars={})
    except Exception:  # a templated tag: build it, in case the task runs
        return True


def start_builder(paths, cache_dir=None):
    """Fork the process that builds each payload into Ansible's cache; its pid."""
    pid = os.fork()
    if pid:
        return pid
    # The child: no exit handlers or signal handlers of the parent's (a signal ends it at once),
    # and no output on the run's stdout, but under ANSIBLE_DEBUG, where its lines show as a
    # worker's do.
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2) if not C.DEFAULT_DEBUG else (0,):
            os.dup2(devnull, fd)
        build(paths, PayloadCache.open(cache_dir))
    finally:
        os._exit(0)


def build(paths, cache=None):
    """Build each module's payload into the run's cache, as a worker's first call would.

    With a PayloadCache, a payload kept from an earlier run under the same key is copied instead,
    and one built here is kept for the next run.
    """
    templar = Templar(loader=DataLoader())
    compression = C.config.get_config_value("DEFAULT_MODULE_COMPRESSION")
    run_cache = Path(C.DEFAULT_LOCAL_TMP) / "ansiballz_cache"
    # A set interpreter, so that the build needs no host; the cached payload does not depend on it.
    task_vars = {"ansible_python_interpreter": "/usr/bin/python3"}
    for name, path in paths.items():
        try:
            key = cache.key(name, path, compression) if cache else None
            if key and cache.restore(name, key, run_cache):
                continue
            modify_module(module_name=name, module_path=path, module_args={}, templar=templar,
                          task_vars=dict(task_vars), module_compression=compression)
            if key and (built := built_payload(run_cache, name)):
                cache.store(name, key, built)
        except Exception:  # the worker builds it then, and reports its error
            continue


def built_payload(run_cache, name):
    """The run's cache file of the collection module `name`, if there is exactly one."""
    namespace, collection, leaf = name.split(".")
    found = [path for path in run_cache.glob(
        f"ansible_collections.{namespace}.{collection}.plugins.modules.{leaf}-*")
        if not path.name.endswith((".lock", "-part"))]
    return found[0] if len(found) == 1 else None


def stop_builder(pid):
    """Kill the builder if it still runs, and reap it (its CPU is then the run's)."""
    if pid is None:
        return
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
