"""ansible-playbook in the launcher's own process, its collection metadata kept between runs.

The secrets launcher (secret_pipe.py) used to exec ansible-playbook: a second Python start. It now
imports ansible-playbook's `main` and runs it in place, when the ansible-playbook to run is this
Python's own (the one kdeploy depends on); any other is still exec'd. Once `main` has ended, the
process runs Ansible's exit steps (atexit) and ends at once, without the interpreter's teardown.

Running in place also lets kdeploy hand Ansible's collection loader a parser of its own, through
the hook Ansible keeps for that (`_collection_finder._meta_yml_to_dict`, which takes a content id
"to allow other implementations to cache the output"). Each run's first plugin lookup parses
ansible-core's routing table, `ansible_builtin_runtime.yml`: 370 KB of YAML, 0.12 s of CPU on the
command's path. Parsed once, it is kept as JSON (0.006 s to load) under the collection's name and
the SHA-256 of the YAML itself, so an upgrade or an edit finds no entry and parses again; the
collection's older entries are removed when a new one is kept.

The kept files say where plugins are routed, so the store is trusted as the user's own ~/.ansible
is: its directory is made 0700, and one that another user owns, or that others may write to, is
not used (then every run parses). Only this module's imports run before Ansible's: the standard
library, so that nothing here slows the start it is meant to shorten.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kdeploy.run.whole_file import write_whole

# Where the parsed metadata is kept; empty keeps nothing. Unset: $XDG_CACHE_HOME/kdeploy/metadata,
# else ~/.cache/kdeploy/metadata (the payloads' store is its sibling, callback/prebuild.py).
CACHE_ENV = "KDEPLOY_METADATA_CACHE"

Parser = Callable[[Any, Any], Mapping[str, Any]]


def run_ansible_playbook(playbook: str) -> None:
    """Run ansible-playbook's own `main` here as its script would, and exit with its code."""
    from ansible.cli.playbook import main
    from ansible.utils.collection_loader import _collection_finder

    # As the script's own start would have them: not the launcher's directory (the private data
    # dir) first on the path.
    sys.argv[0] = playbook
    sys.path[0] = os.path.dirname(playbook)
    cache = cache_directory(os.environ.get(CACHE_ENV))
    if cache is not None:
        _collection_finder._meta_yml_to_dict = kept_metadata(
            _collection_finder._meta_yml_to_dict, cache)
    try:
        code = main()
    except SystemExit as end:  # how its CLI ends, every time
        code = end.code
    # Ansible's own exit steps (its temporary directory, an ssh-agent it started) are atexit
    # handlers. The interpreter's teardown after them frees every object one by one: 0.1 s of
    # CPU after the last event, for a process that ends anyway.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    # sys.exit's own rule: None is success, an int is the code, anything else a failure.
    os._exit(0 if code is None else code if isinstance(code, int) else 1)


def cache_directory(setting: str | None) -> Path | None:
    """The store's directory (made 0700 when missing), or None: turned off, or not safe to use."""
    if setting is None:
        setting = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                               "kdeploy", "metadata")
    if not setting:
        return None
    # The payloads' store applies the same rule (plugins/plugin_utils/payload_cache.py); it is the
    # collection's own, and the collection never imports kdeploy nor kdeploy the collection.
    path = Path(os.path.expanduser(setting))
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = path.stat()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        return None
    return path


def kept_metadata(parse: Parser, directory: Path) -> Parser:
    """`parse`, each result kept in `directory` under its collection and the text's SHA-256."""

    def parse_or_load(data: Any, content_id: Any) -> Mapping[str, Any]:
        text = data.encode() if isinstance(data, str) else bytes(data)
        name = _collection(content_id)
        entry = directory / f"{name}@{hashlib.sha256(text).hexdigest()}.json"
        try:
            return json.loads(entry.read_bytes())
        except (OSError, ValueError):
            pass
        parsed = parse(data, content_id)
        if _keep(entry, parsed):
            for older in directory.glob(f"{name}@*.json"):
                if older != entry:
                    older.unlink(missing_ok=True)
        return parsed

    return parse_or_load


def _collection(content_id: Any) -> str:
    # Ansible's content id is (collection name, "runtime.yml"); the name, made file-safe.
    name = content_id[0] if isinstance(content_id, tuple) and content_id else "metadata"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))


def _keep(entry: Path, parsed: Mapping[str, Any]) -> bool:
    # Kept only when JSON gives back exactly what the parser did (all of it strings, lists and
    # mappings with string keys, as Ansible's loader returns): otherwise parse every time.
    try:
        text = json.dumps(parsed)
        if json.loads(text) != parsed:
            return False
        write_whole(entry, text)
    except (TypeError, ValueError, OSError):
        return False
    return True
