"""Run a plan with its hooks: the plays in as few ansible-playbook runs as the hooks allow.

The plan's hook points say where it is cut (`plan/split.py`); this module runs the pieces in
order: each run through `runner.run_plan`, each hook point as Kamal's hook
(`kamal_hooks.run_kamal_hook`) followed by the `x-kdeploy` hook playbooks of the same name (one more
`run_plan` over the generated inventory). The first failure stops everything after it;
`execute_plan` then releases the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kdeploy.config import Config
from kdeploy.errors import ConfigError
from kdeploy.host_contract.names import secret_env_var
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.plan.model import HookPoint
from kdeploy.plan.split import split_plan
from kdeploy.run.failure import failure_message
from kdeploy.run.kamal_hooks import (
    SECRET_HOOKS,
    HookContext,
    HookError,
    hook_command,
    hook_context,
    hook_exists,
    run_kamal_hook,
)
from kdeploy.run.process_owner import SignalReceived
from kdeploy.run.result import RunResult, merge_results
from kdeploy.run.runner import EventSink
from kdeploy.selection import CommandContext

# What this module adds to the event stream, for people only (JsonOutput ignores both): the
# pseudo event said when a hook has run, and the key that marks a hook playbook's events.
HOOK_EVENT = "kdeploy_hook_ran"
HOOK_KEY = "kdeploy_hook"

# runner.run_plan's signature: (config, plan, secrets, on_event) -> RunResult.
RunPlan = Callable[[Config, Plan, Mapping[str, str], EventSink], RunResult]


@dataclass
class HookedRun:
    """The outcome of all runs of a command, and the hook that stopped it (if one did)."""

    result: RunResult = field(default_factory=RunResult)
    error: HookError | None = None
    ran_plays: bool = False  # some ansible-playbook run started (the lock may be held)


def run_with_hooks(context: CommandContext, plan: Plan, secrets: Mapping[str, str],
                   say: Callable[[str], None], on_event: EventSink, run: RunPlan, *,
                   skip_hooks: bool = False, verbosity: str = "info") -> HookedRun:
    """Run `plan` and the command's hooks in Kamal's order.

    Without any hook to run (none exists, `-H`, or the command has none) this is exactly one
    `run(config, plan, secrets, on_event)`, as before hooks existed. `run` is
    `runner.run_plan` (the one place that starts Ansible), passed in by `execute_plan`.
    `skip_hooks` is `-H`; `verbosity` is Kamal's (debug, info, error) for the hooks' output.

    Raises:
        ConfigError: an `x-kdeploy` hook playbook does not exist (checked before anything runs).
    """
    config = context.config
    points = _points(plan, skip_hooks)
    running = hooks_to_run(config, plan, skip_hooks=skip_hooks)
    if not running:
        return HookedRun(run(config, plan, secrets, on_event), ran_plays=True)
    check_hooks(config, running)
    hooks = hook_context(context, plan.command, verbosity=verbosity,
                         performer=plan.extravars.get("kdeploy_performer"))
    hooked = HookedRun(RunResult(status="successful"))
    started = time.monotonic()
    try:
        for step in split_plan(plan, points, running):
            if isinstance(step, HookPoint):
                _run_hook_point(hooks, step, plan, say, on_event, run, _seconds_since(started))
                continue
            hooked.ran_plays = True
            hooked.result = merge_results(hooked.result, run(config, step, secrets, on_event))
            if not hooked.result.ok:
                return hooked
    except HookError as error:
        hooked.error = error
    except SignalReceived as stop:
        # A signal while a hook ran (outside any Ansible run): the hook process is gone.
        hooked.result.status, hooked.result.signal = "canceled", stop.signum
    return hooked


def _seconds_since(started: float) -> int:
    # Ruby's Float#round: halves away from zero (Python's round() goes to even).
    return int(time.monotonic() - started + 0.5)


def _points(plan: Plan, skip_hooks: bool) -> tuple[HookPoint, ...]:
    return () if skip_hooks else tuple(
        point for point in plan.hook_points if point.hook not in plan.hooks_done)


def hooks_to_run(config: Config, plan: Plan, *, skip_hooks: bool = False) -> set[str]:
    """The hooks of `plan` that will run: not done already, not `-H`, a hook file or playbook."""
    return {point.hook for point in _points(plan, skip_hooks) if _has_hooks(config, point.hook)}


def check_hooks(config: Config, hooks: set[str]) -> None:
    """Refuse, before anything runs, hooks that would fail for the config's sake.

    Raises:
        ConfigError: an `x-kdeploy` hook playbook does not exist, or the secrets file that a
            hook given every secret reads is broken (not while the lock is held).
    """
    for hook in sorted(hooks):
        for index, path in enumerate(config.extension.hooks.get(hook, ())):
            if not (config.project_dir / path).is_file():
                raise ConfigError(f"{config.config_file}: x-kdeploy/hooks/{hook}/{index}: "
                                  f"no playbook at {config.project_dir / path}")
    if hooks & SECRET_HOOKS and config.secrets is not None:
        config.secrets.names()


def _has_hooks(config: Config, hook: str) -> bool:
    return hook_exists(config, hook) or bool(config.extension.hooks.get(hook))


def _run_hook_point(context: HookContext, point: HookPoint, plan: Plan,
                    say: Callable[[str], None], on_event: EventSink, run: RunPlan,
                    runtime: int) -> None:
    # No hosts of its own (or none selected): the command's hosts, as Kamal's KAMAL_HOSTS.
    if run_kamal_hook(context, point.hook, say, lock=point.lock, hosts=point.hosts or None,
                      runtime=runtime if point.runtime else None):
        on_event({"event": HOOK_EVENT, "event_data": {
            "text": f"{point.hook} ({hook_command(context.config, point.hook)})"}})
    playbooks = context.config.extension.hooks.get(point.hook, ())
    if not playbooks:
        return
    say(f"--> Running hook {point.hook} playbooks: {', '.join(playbooks)}")

    def marked(event: dict[str, Any]) -> None:
        # The output shows a hook playbook's `debug` lines under its hook.
        on_event({**event, HOOK_KEY: point.hook})

    result = run(context.config, hook_plan(context.config, plan, point.hook),
                 _hook_secrets(context.config, point.hook), marked)
    on_event({"event": HOOK_EVENT, "event_data": {
        "text": f"{point.hook} ({len(playbooks)} playbook{'' if len(playbooks) == 1 else 's'})"}})
    if not result.ok:
        raise HookError(f"Hook `{point.hook}` failed:\n{failure_message(result)}")


def hook_plan(config: Config, plan: Plan, hook: str) -> Plan:
    """The user's playbooks of a hook as a plan: same inventory, limit and extra vars.

    The command's tags are not passed: the user's plays do not carry kdeploy's tags.
    """
    playbooks = config.extension.hooks.get(hook, ())
    names = _secret_names(config) if hook in SECRET_HOOKS else ()
    return replace(plan, command=f"hook_{hook.replace('-', '_')}",
                   imports=tuple(PlaybookImport(str((config.project_dir / path).resolve()), ())
                                 for path in playbooks),
                   tags=(), skip_tags=(), notices=(), secret_names=names, hook_points=())


def _secret_names(config: Config) -> tuple[str, ...]:
    return tuple(config.secrets.names()) if config.secrets is not None else ()


def _hook_secrets(config: Config, hook: str) -> dict[str, str]:
    # Kamal hands these hooks every secret; the playbooks get them as KDEPLOY_SECRET_<NAME>.
    if hook not in SECRET_HOOKS or config.secrets is None:
        return {}
    return {secret_env_var(name): config.secrets[name] for name in config.secrets.names()}
