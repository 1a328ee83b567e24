"""The hosts' Python, found by the warm-up and handed to Ansible as a fact (docs/performance.md).

With `interpreter_python = auto_silent` (kdeploy's ansible.cfg), the first module task on a host
runs Ansible's interpreter discovery first: a shell command listing the Pythons of
INTERPRETER_PYTHON_FALLBACK that the host has (`command -v` each), after which the worker builds
the module again for the first one found. That is one more round trip on each host's critical
path and about 0.02 s of a worker's CPU per host. Ansible skips it for a host whose facts already
hold `discovered_interpreter_python`.

The warm-up connects to every host while ansible-playbook starts, so it runs that same command
(`DISCOVERY_COMMAND`) and keeps the answer, chosen as Ansible chooses (`interpreter_from`), as
the host's entry in a fact cache of this command alone: Ansible's `jsonfile` cache plugin, in a
directory the command removes when it ends (`fact_cache_envvars`). The answer is a host's own
listing, read as data: a fact is never templated. A host whose entry is not there yet when its
first module task starts is discovered by Ansible as before.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from kdeploy.run.whole_file import write_whole

# ansible-core's INTERPRETER_PYTHON_FALLBACK (config/base.yml), in its order; only an inventory
# variable can change it, and kdeploy sets none outside mitogen, under which nothing warms up.
# tests/unit/test_interpreter_facts.py compares it with the installed ansible-core's.
PYTHON_FALLBACK = ("python3.13", "python3.12", "python3.11", "python3.10", "python3.9",
                   "python3.8", "/usr/bin/python3", "python3")
# What Ansible takes when the listing names none (interpreter_discovery._FALLBACK_INTERPRETER).
NONE_FOUND = "/usr/bin/python3"
FACT = "discovered_interpreter_python"
# How ansible-core 2.19's jsonfile cache stores a host's facts (ansible/_internal/_plugins/
# _cache.py): the file is named by a schema prefix and the host, and holds the facts as a JSON
# string under one key. Pinned by tests/unit/test_interpreter_facts.py, which reads an entry back
# through Ansible's VariableManager; another schema would only leave Ansible to discover.
_ENTRY_PREFIX = "s1_"
_PAYLOAD_KEY = "__payload__"

# Ansible's discovery command (executor/interpreter_discovery.py), as its ssh connection sends
# it: under /bin/sh, whatever the user's login shell.
DISCOVERY_COMMAND = shlex.join(["/bin/sh", "-c", "echo FOUND; {}; echo ENDFOUND".format(
    "; ".join(f"command -v '{python}'" for python in PYTHON_FALLBACK))])
_LISTING = re.compile(r"FOUND(.*)ENDFOUND", flags=re.DOTALL)


def interpreter_from(output: str) -> str | None:
    """The Python Ansible would choose from the discovery's output, None when it is no listing."""
    match = _LISTING.match(output)
    if match is None:
        return None
    found = [line.strip() for line in match.group(1).splitlines() if line.startswith("/")]
    return found[0] if found else NONE_FOUND


def keep_interpreter(directory: Path, host: str, interpreter: str) -> None:
    """Write `host`'s entry in the jsonfile cache at `directory`, whole or not at all.

    The cache plugin reads an entry the first time it is asked for the host, and a half-written
    one would fail that task, so the entry appears by a rename.
    """
    if os.sep in host or host in ("", ".", ".."):
        return  # not a file name: Ansible discovers this host itself
    write_whole(directory / f"{_ENTRY_PREFIX}{host}",
                json.dumps({_PAYLOAD_KEY: json.dumps({FACT: interpreter})}))


def fact_cache_envvars(directory: Path) -> dict[str, str]:
    """Ansible's settings for the command's fact cache at `directory` (entries never expire)."""
    return {"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(directory),
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0"}
