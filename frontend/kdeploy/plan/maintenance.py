"""Plan `kdeploy prune`, `kdeploy registry login|logout` and `kdeploy server bootstrap|exec`.

Pure, like Kamal's `commands/`: a command's context and options in, a Plan (or an argv) out.
Every command acts on Kamal's filtered `hosts` (accessory hosts included); prune and bootstrap
hold the deploy lock on the filtered primary host, as Kamal's `with_lock` does.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config import Config
from kdeploy.errors import UsageError
from kdeploy.plan.hook_points import bootstrap_points, connect_points
from kdeploy.plan.lock import command_lock_vars
from kdeploy.plan.model import HookPoint, Plan, PlaybookImport
from kdeploy.selection import CommandContext

PRUNE_PARTS = {"containers": ("prune_containers.yml",), "images": ("prune_images.yml",),
               "all": ("prune_containers.yml", "prune_images.yml")}
# Kamal's message in the lock details of every command that locks on its own.
# The task whose per-host result `kdeploy server exec` prints (playbooks/server_exec.yml).
EXEC_REPORT_TASK = "Run the command."


def build_prune_plan(context: CommandContext, what: str, retain: int | None = None) -> Plan:
    """Plan `kdeploy prune all|images|containers` on the filtered hosts, under the deploy lock.

    Args:
        context: the command's config, filters and performer.
        what: `all`, `images` or `containers`.
        retain: `--retain`; None: the config's `retain_containers` (Kamal's default 5).

    Raises:
        UsageError: an unknown subcommand, retain below 1, no hosts, or no version for the lock.
    """
    if what not in PRUNE_PARTS:
        raise UsageError(f"Unknown prune command {what}: use one of {', '.join(PRUNE_PARTS)}")
    count = context.config.retain_containers if retain is None else retain
    if count < 1:
        raise UsageError("retain must be at least 1")  # Kamal's words
    _require_hosts(context, f"prune {what}")
    parts = tuple(PlaybookImport(part, ("prune",)) for part in PRUNE_PARTS[what])
    return _locked_plan(context, f"prune {what}", parts,
                        {"prune_retain": count} if what != "images" else {})


def build_bootstrap_plan(context: CommandContext) -> Plan:
    """Plan `kdeploy server bootstrap`: Docker on the filtered hosts (setup's bootstrap), locked.

    The `docker-setup` hook runs after the bootstrap play, before the lock is released.

    Raises:
        UsageError: no hosts, or no version for the lock details.
    """
    _require_hosts(context, "bootstrap")
    parts = (PlaybookImport("bootstrap.yml", ("bootstrap",)),)
    return _locked_plan(context, "server bootstrap", parts, {}, bootstrap_points(parts[0]))


def build_registry_plan(context: CommandContext, action: str) -> Plan:
    """Plan the remote half of `kdeploy registry login|logout` on the filtered hosts (no lock).

    Raises:
        UsageError: an unknown action, a local registry (Kamal refuses it too), a login without
            a password secret, or no hosts.
    """
    if action not in ("login", "logout"):
        raise UsageError(f"Unknown registry command {action}: use login or logout")
    refuse_local_registry(context.config, action)
    registry = context.config.registry
    if action == "login" and registry.password_secret is None:
        # The hosts get the password only as KDEPLOY_SECRET_<NAME> (never in the inventory).
        raise UsageError("registry/password: the hosts log in only with a password from "
                         ".kamal/secrets (password: [NAME]); use -R to log in locally only")
    _require_hosts(context, f"registry {action}")
    return Plan(
        command=f"registry {action}",
        imports=(PlaybookImport(f"registry_{action}.yml", ("registry",)),),
        limit=_limit(context),
        secret_names=registry.secret_names if action == "login" else (),
        entry=f"kdeploy_registry_{action}",
        hook_points=connect_points(),
    )


def refuse_local_registry(config: Config, action: str) -> None:
    """Refuse `registry login|logout` with Kamal's local registry (`localhost:PORT`), as Kamal.

    Raises:
        UsageError: the registry is local.
    """
    if config.registry.local:
        raise UsageError(f"Cannot use {action} command with a local registry "
                         f"({config.registry.server}): Kamal runs it with `kamal registry setup`")


def build_exec_plan(context: CommandContext, command: str, raw: bool = False) -> Plan:
    """Plan `kdeploy server exec CMD` on every filtered host (no lock, as Kamal).

    `raw` (Kamal 2.12's `--raw`): the command's stdout comes back byte for byte (base64).

    Raises:
        UsageError: an empty command, or no hosts.
    """
    if not command.strip():
        raise UsageError("No command to run: kdeploy server exec CMD…")
    _require_hosts(context, "server exec")
    return Plan(
        command="server exec",
        imports=(PlaybookImport("server_exec.yml", ("exec",)),),
        limit=_limit(context),
        extravars={"kdeploy_server_exec_command": command,
                   "kdeploy_performer": context.performer,
                   **({"kdeploy_server_exec_raw": True} if raw else {})},
        entry="kdeploy_server_exec",
        report_task=EXEC_REPORT_TASK,
        hook_points=connect_points(),
    )


def join_command(words: tuple[str, ...] | list[str]) -> str:
    """Kamal's `join_commands`: each word stripped, joined by one space (for the host's shell)."""
    return " ".join(word.strip() for word in words)


def _require_hosts(context: CommandContext, what: str) -> None:
    if not context.selection.hosts:
        raise UsageError(f"No hosts to run {what} on")


def _limit(context: CommandContext) -> str | None:
    return ",".join(context.selection.hosts) if context.filters.given else None


def _locked_plan(context: CommandContext, command: str, parts: tuple[PlaybookImport, ...],
                 extravars: dict[str, Any],
                 hook_points: tuple[HookPoint, ...] = connect_points()) -> Plan:
    selection = context.selection
    return Plan(
        command=command,
        imports=(PlaybookImport("lock_acquire.yml", ("lock",)), *parts,
                 PlaybookImport("lock_release.yml", ("lock",))),
        limit=_limit(context),
        extravars={**command_lock_vars(context.config, selection, context.performer),
                   **extravars},
        lock_host=selection.primary_host,
        entry="kdeploy_" + command.replace(" ", "_"),
        hook_points=hook_points,
    )
