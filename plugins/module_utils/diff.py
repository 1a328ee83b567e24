# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""The before/after that kdeploy's modules return for Ansible's --diff: non-secret fields only.

Used by every module of the collection. Callers pass only what may be shown: names, images,
versions, hashes, paths, env *keys*; never an env value or a password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def spec_diff(before, after, fields=None):
    """Ansible's diff dict for two states; None for a state that does not exist (yet).

    Args:
        before: The current state's fields, or None.
        after: The state after the task, or None.
        fields: The keys to show (default: every key of either); a key a state lacks shows None.

    Returns:
        {"before": {...}, "after": {...}} with sorted keys.
    """
    before = before or {}
    after = after or {}
    keys = sorted(set(before) | set(after)) if fields is None else sorted(fields)
    return dict(before=dict((key, before.get(key)) for key in keys),
                after=dict((key, after.get(key)) for key in keys))


def differing(before, after):
    """The keys whose values differ between two field dicts (a missing key is None)."""
    before = before or {}
    after = after or {}
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def env_file_summary(changed, keys):
    """What the diff says about an env file: never its content, only whether and which keys."""
    if not changed:
        return "unchanged"
    return "changed (keys: %s)" % (", ".join(sorted(keys)) if keys else "none")
