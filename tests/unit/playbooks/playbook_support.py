"""Helpers shared by the playbook tests: where the repository is and how to find Ansible's tools."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import shutil
import socketserver
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ansible"


def find_tool(name: str) -> str | None:
    """Return the tool next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """Return the tool's path; skip when it is missing, but fail in CI (CI=true)."""
    tool = find_tool(name)
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but was not found")
        pytest.skip(f"{name} is not installed")
    return tool


PLAY = re.compile(r"^  play #\d+ \((?P<pattern>.*)\): (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")
TASK = re.compile(r"^      (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")
HOST = re.compile(r"^      (?P<host>\S+)$")


@dataclass
class Play:
    """One play as `ansible-playbook --list-hosts --list-tasks` prints it."""

    name: str
    hosts: list[str] = field(default_factory=list)
    tasks: list[tuple[str, set[str]]] = field(default_factory=list)


def parse_listing(listing: str) -> list[Play]:
    """Plays, their hosts and their tasks (with tags) from a --list-hosts --list-tasks listing."""
    plays: list[Play] = []
    section = None
    for line in listing.splitlines():
        if match := PLAY.match(line):
            plays.append(Play(match["name"]))
        elif line.strip().startswith("hosts ("):
            section = "hosts"
        elif line.strip() == "tasks:":
            section = "tasks"
        elif section == "tasks" and (match := TASK.match(line)):
            plays[-1].tasks.append((match["name"], {t.strip() for t in match["tags"].split(",")}))
        elif section == "hosts" and (match := HOST.match(line)):
            plays[-1].hosts.append(match["host"])
    return plays


def _load_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


PLUGINS = REPO / "plugins"
# The import name of the collection's shared code, as its modules write it.
MODULE_UTILS = "ansible_collections.kdeploy.deploy.plugins.module_utils"


def load_module_utils(stem: str) -> ModuleType:
    """Import plugins/module_utils/<stem>.py under the name the modules import it by.

    A file's kdeploy siblings are loaded first, as an import would (and as Ansible ships them).
    """
    name = f"{MODULE_UTILS}.{stem}"
    if name not in sys.modules:
        path = PLUGINS / "module_utils" / f"{stem}.py"
        for needed in kdeploy_utils_imported(path):
            load_module_utils(needed)
        _load_file(name, path)
    return sys.modules[name]


def load_plugin(name: str) -> ModuleType:
    """Import plugins/modules/<name>.py with the module_utils it imports, loaded from this tree."""
    path = PLUGINS / "modules" / f"{name}.py"
    for needed in kdeploy_utils_imported(path):
        load_module_utils(needed)
    return _load_file(name, path)


def kdeploy_utils_imported(path: Path, top_level_only: bool = False) -> list[str]:
    """The kdeploy module_utils files a module or module_utils file imports (their stems)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    return [node.module.rsplit(".", 1)[1] for node in nodes
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.startswith(f"{MODULE_UTILS}.")]


def collections_dir(root: Path) -> Path:
    """A collections path holding this working tree as kdeploy.deploy (a link under `root`)."""
    link = root / "ansible_collections" / "kdeploy" / "deploy"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(REPO, target_is_directory=True)
    return root


class StubDaemon(BaseHTTPRequestHandler):
    """A quiet HTTP handler for a stub daemon; subclasses answer with `answer`."""

    def answer(self, status: int, body: bytes) -> None:
        """Send one answer with its length (the modules' client reads exactly that)."""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_unix(path: Path, handler: type[StubDaemon]) -> Iterator[list[str]]:
    """Serve handler on a unix socket at path; yield the list of paths it was asked for."""
    server = socketserver.UnixStreamServer(str(path), handler)
    server.paths = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
