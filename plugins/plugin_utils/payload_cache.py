# MIT License (kdeploy)
"""Module payloads kept from one ansible-playbook run to the next (the prebuild callback's store).

Ansible caches a module's payload (AnsiballZ: the module and the module_utils files it imports)
only for one run, in that run's temporary directory, so every run builds it again: 0.2 to 0.35 s
of CPU for each kdeploy module. A payload depends only on those source files, so this store keeps
each one under a key of everything it could be built from:

- the module's name and file, the compression, and the ansible-core version;
- the size and mtime of every .py file in ansible's module_utils and in the module_utils of each
  collection that the module or its own collection's module_utils import from (kdeploy.deploy,
  community.docker).

Any edit, upgrade or move gives another key, so a stale payload is never used; the entries of
the same module under older keys are removed when a new one is stored.

A payload file is what Ansible's cache holds (a pickle, which Ansible loads), so the store is
as trusted as the user's own ~/.ansible: its directory is made 0700, and one that another user
owns, or that others may write to, is not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import ansible.module_utils
from ansible.release import __version__ as ANSIBLE_VERSION

COLLECTION_UTILS = re.compile(rb"ansible_collections\.(\w+)\.(\w+)\.plugins\.module_utils")


class PayloadCache:
    """A directory of payloads, each under its key, with the run-cache file name it goes to."""

    def __init__(self, directory):
        self.directory = Path(directory)
        # The stamps of each set of module_utils roots, walked once per store (per run): the
        # modules of one collection share them.
        self._stamps = {}

    @classmethod
    def open(cls, directory):
        """The store at `directory` (made 0700 when missing), or None when it is not safe to use."""
        if not directory:
            return None
        path = Path(os.path.expanduser(str(directory)))
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            status = path.stat()
        except OSError:
            return None
        if status.st_uid != os.getuid() or status.st_mode & 0o022:
            return None
        return cls(path)

    def key(self, name, module_path, compression):
        """The key of `name`'s payload as its sources are now."""
        digest = hashlib.sha256()
        digest.update(f"{ANSIBLE_VERSION}\0{name}\0{compression}\0".encode())
        # Real paths: a run from the source tree reaches the collection through a link in its own
        # temporary directory.
        module = Path(module_path).resolve()
        roots = tuple(_utils_roots(module))
        if roots not in self._stamps:
            self._stamps[roots] = "".join(map(_stamp, _python_files(roots)))
        digest.update(f"{_stamp(module)}{self._stamps[roots]}".encode())
        return digest.hexdigest()

    def restore(self, name, key, run_cache):
        """Put the stored payload into the run's cache; False when there is none for `key`."""
        try:
            target = json.loads(self._entry(name, key, "json").read_text())["file"]
        except (OSError, ValueError, KeyError):
            return False
        destination = Path(run_cache) / Path(target).name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            _copy_atomically(self._entry(name, key, "payload"), destination)
        return True

    def store(self, name, key, built):
        """Keep `built` (the run's cache file of `name`) under `key`; drop older keys' entries."""
        _copy_atomically(built, self._entry(name, key, "payload"))
        _write_atomically(self._entry(name, key, "json"), json.dumps({"file": Path(built).name}))
        current = {self._entry(name, key, kind).name for kind in ("payload", "json")}
        for old in self.directory.glob(f"{name}@*"):
            if old.name not in current:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()

    def _entry(self, name, key, kind):
        return self.directory / f"{name}@{key}.{kind}"


def _utils_roots(module_path):
    """Ansible's module_utils and those of the collections the module's collection imports."""
    collection_utils = module_path.parents[1] / "module_utils"
    sources = [module_path, *collection_utils.glob("*.py")]
    names = {(match[1].decode(), match[2].decode()) for source in sources
             for match in COLLECTION_UTILS.finditer(source.read_bytes())}
    roots = [Path(ansible.module_utils.__file__).parent, collection_utils]
    for namespace, collection in sorted(names):
        spec = importlib.util.find_spec(
            f"ansible_collections.{namespace}.{collection}.plugins.module_utils")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"{namespace}.{collection}'s module_utils")
        roots.extend(Path(location) for location in spec.submodule_search_locations)
    return sorted({root.resolve() for root in roots})


def _stamp(path):
    status = path.stat()
    return f"{path}\0{status.st_size}\0{status.st_mtime_ns}\0"


def _python_files(roots):
    return sorted(path for root in roots for path in root.rglob("*.py"))


def _copy_atomically(source, destination):
    with (tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as handle,
          open(source, "rb") as data):
        shutil.copyfileobj(data, handle)
    os.replace(handle.name, destination)


def _write_atomically(destination, text):
    with tempfile.NamedTemporaryFile("w", dir=destination.parent, delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, destination)
