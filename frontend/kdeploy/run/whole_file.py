"""A file written whole or not at all, for files another process may read at any moment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` by a rename: a reader finds the old file, or all of the new one.

    The temporary file is a dotfile beside `path` (a rename stays within one file system), and
    is gone whether the write succeeds or raises.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
