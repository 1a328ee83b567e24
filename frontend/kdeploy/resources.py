"""Where the Ansible collection kdeploy.deploy lives (the wheel's copy or the source tree).

kdeploy runs its plays through the collection, as any Ansible user would: an entry playbook
imports `kdeploy.deploy.<part>`, and the run's ansible.cfg says where the collection is.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

COLLECTION = "kdeploy.deploy"
# What `ansible-galaxy collection build` packs besides the metadata it generates (galaxy.yml's
# build_ignore leaves out the rest), and what `kdeploy export` copies.
CONTENT = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "README.md", "CHANGELOG.md")
# Ansible's default collections path: the user's own collections (hook playbooks use them).
DEFAULT_PATHS = ("~/.ansible/collections", "/usr/share/ansible/collections")

_PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE_DIR.parent.parent
# Ansible looks for a collection at <path>/ansible_collections/<namespace>/<name>.
_LAYOUT = Path("ansible_collections", *COLLECTION.split("."))


def collection_dir() -> Path:
    """The kdeploy.deploy collection: the wheel's copy, else the source tree (the repo root).

    The wheel installs it as site-packages/ansible_collections/kdeploy/deploy, next to the
    package; an editable install (and the tests) read the repository root, which is the
    collection.
    """
    installed = _PACKAGE_DIR.parent / _LAYOUT
    return installed if (installed / "galaxy.yml").is_file() else _SOURCE_ROOT


def part_fqcn(playbook: str) -> str:
    """The collection's name of a part playbook: `app.yml` -> `kdeploy.deploy.app`."""
    return f"{COLLECTION}.{playbook.removesuffix('.yml')}"


def role_fqcn(role: str) -> str:
    """The collection's name of a role: `app` -> `kdeploy.deploy.app`."""
    return f"{COLLECTION}.{role}"


def collections_path(project: Path) -> list[str]:
    """Where Ansible looks for collections in a run in `project`, in order.

    Ours first. The source tree is not laid out as ansible_collections/kdeploy/deploy, so it
    is reached through a link inside `project/collections` (in the run directory, never in the
    repository). Then this Python's site-packages, listed explicitly so that another
    community.docker in ~/.ansible/collections cannot shadow the one kdeploy was tested with
    (explicit entries win over Ansible's sys.path scan). Then Ansible's defaults, so hook
    playbooks still find the user's collections.
    """
    home = collection_dir()
    if home != _SOURCE_ROOT:
        ours = home.parents[len(_LAYOUT.parts) - 1]
    else:
        link = project / "collections" / _LAYOUT
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(home, target_is_directory=True)
        ours = project / "collections"
    paths = [str(ours), sysconfig.get_paths()["purelib"], *DEFAULT_PATHS]
    return list(dict.fromkeys(paths))


def copy_collection(project: Path) -> Path:
    """Copy the collection's content into project/collections (an export runs elsewhere).

    Returns:
        The collections directory, to be named first in the exported ansible.cfg.
    """
    target = project / "collections" / _LAYOUT
    target.mkdir(parents=True, exist_ok=True)
    source = collection_dir()
    for name in CONTENT:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.is_file():
            shutil.copyfile(path, target / name)
    return project / "collections"
