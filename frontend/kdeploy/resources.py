"""Where the playbooks and roles live: in the wheel, or in the source tree."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE_DIR.parent.parent


def resource_dir(name: str) -> Path:
    """Return the directory `name` (playbooks, roles).

    The wheel carries them inside the package; an editable install reads them from the
    repository root, next to `frontend/`.
    """
    packaged = _PACKAGE_DIR / name
    return packaged if packaged.is_dir() else _SOURCE_ROOT / name
