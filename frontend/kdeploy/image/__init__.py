"""Build the app image locally and push it (`kdeploy build push`, the build step of `deploy`).

`commands` builds the argv lists (pure), `clone` prepares Kamal's git clone, `local` runs the
commands, `push` runs the steps in Kamal's order. Pulling on the hosts is a plan
(`plan/pull.py`, `playbooks/build_pull.yml`), not part of this package.
"""

from __future__ import annotations

from kdeploy.image.push import BuildFailed, push_image

__all__ = ["BuildFailed", "push_image"]
