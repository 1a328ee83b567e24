"""Name a held deploy lock: who holds it, what for, since when, and how to release it.

A run killed by SIGKILL or lost with its machine leaves its lock behind. Nothing on the host says
whether the holder still runs, so the next run states the lock's age and the exact command that
releases it, and leaves the judgement to the person reading it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kdeploy.config import Config
from kdeploy.plan.lock import AUTOMATIC_LOCK_MESSAGE

# Kamal's details: "Locked by: <who> at <UTC time>", "Version: …", "Message: …".
_LOCKED_AT = re.compile(r"^Locked by: .* at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s*$", re.MULTILINE)
_FIELD = re.compile(r"^(Locked by|Version|Message): ?(.*?)\s*$", re.MULTILINE)
_BY_AT = re.compile(r"^(.*) at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$")
DEFAULT_CONFIG_FILE = Path("config/deploy.yml")


def describe_held_lock(message: str, config: Config, now: datetime | None = None) -> str:
    """The lock-held error: the holder's details, the lock's age and the release command."""
    lines = [message.rstrip()]
    taken = lock_taken_at(message)
    if taken is not None:
        age = (now or datetime.now(UTC)) - taken
        lines.append(f"The lock was taken {format_age(age.total_seconds())} ago.")
    lines.append("If no deploy is running any more (a killed or lost run leaves its lock behind), "
                 f"release it with `{release_command(config)}` (or `kamal lock release`).")
    return "\n".join(lines)


def lock_holder(details: str) -> dict[str, Any] | None:
    """The holder of a lock from its details, for machines; None when they name nobody.

    Returns:
        `{locked_by, since?, version?, message?, automatic}`: `since` as the details write it
        (UTC), `automatic` for the lock a deploy takes for its own run.
    """
    fields = dict(_FIELD.findall(details))
    if not fields.get("Locked by"):
        return None
    who, since = fields["Locked by"], None
    dated = _BY_AT.match(who)
    if dated:
        who, since = dated.groups()
    holder: dict[str, Any] = {"locked_by": who}
    if since:
        holder["since"] = since
    for key, name in (("Version", "version"), ("Message", "message")):
        if fields.get(key):
            holder[name] = fields[key]
    holder["automatic"] = fields.get("Message", "").startswith(AUTOMATIC_LOCK_MESSAGE)
    return holder


def lock_taken_at(details: str) -> datetime | None:
    """When the lock was taken, from its `Locked by: … at <time>` line; None without one."""
    match = _LOCKED_AT.search(details)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def format_age(seconds: float) -> str:
    """An age for people: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def release_command(config: Config) -> str:
    """`kdeploy lock release` with the -c and -d that reach this config's lock."""
    command = "kdeploy lock release"
    if Path(config.config_file).resolve() != DEFAULT_CONFIG_FILE.resolve():
        command += f" -c {config.config_file}"
    if config.destination:
        command += f" -d {config.destination}"
    return command
