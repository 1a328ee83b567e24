"""`--check`: a command's plan turned into a dry run that changes nothing and takes no lock.

The plan builders stay unaware of check mode: `for_check` takes the plan they built and
- replaces the lock's acquire play by the read-only `lock_status.yml` (a held lock is shown,
  never an error) and drops its release play, so the lock is never taken;
- drops the hook points: hooks run commands kdeploy cannot dry-run, so none runs and one
  notice names those that would have;
- marks the plan `check` (ansible-playbook `--check`, and `--diff` when asked).
Building and pushing the image is the CLI's to skip (`cli/deploy.py`): the registry is state too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from kdeploy.plan.model import HostsPlay, Plan, PlaybookImport

LOCK_ACQUIRE_PART = "lock_acquire.yml"
LOCK_RELEASE_PART = "lock_release.yml"
LOCK_STATUS_PART = "lock_status.yml"


def for_check(plan: Plan, *, diff: bool = False, hooks: Iterable[str] = ()) -> Plan:
    """Return `plan` as a check: lock read instead of taken, no hooks, Ansible's check mode.

    Args:
        plan: the command's plan as its builder made it.
        diff: `--diff`: also list what differs field by field.
        hooks: the hooks that would run in a real run (named in a notice; none runs).
    """
    imports: list[PlaybookImport | HostsPlay] = []
    for entry in plan.imports:
        if isinstance(entry, PlaybookImport) and entry.playbook == LOCK_RELEASE_PART:
            continue
        if isinstance(entry, PlaybookImport) and entry.playbook == LOCK_ACQUIRE_PART:
            entry = PlaybookImport(LOCK_STATUS_PART, entry.tags)
        imports.append(entry)
    notices = list(plan.notices)
    skipped = sorted(set(hooks))
    if skipped:
        notices.append(f"--check: hooks do not run in check mode: {', '.join(skipped)}")
    # No lock host: the safety net that releases a failed run's lock has nothing to release.
    return replace(plan, imports=tuple(imports), check=True, diff=diff, lock_host=None,
                   hook_points=(), notices=tuple(notices))
