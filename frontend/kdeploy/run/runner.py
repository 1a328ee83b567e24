"""The one place that starts Ansible: run a Plan through ansible-runner and collect the outcome.

Secrets go to the playbook process through `SecretPipe`, never through runner's envvars (runner
writes those to artifacts/). Progress reaches `output` event by event. Every process of a run
belongs to the command's `ProcessOwner`: a stop signal kills them all (the ssh masters aside,
which the settle step reuses), not just ansible-playbook.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdeploy.run.interpreter_facts import fact_cache_envvars
from kdeploy.run.private_data_dir import host_key_checking, write_private_data_dir
from kdeploy.run.process_owner import ProcessOwner, owning_processes
from kdeploy.run.result import HostFailure, RunResult
from kdeploy.run.secret_pipe import FIFO_ENV, SecretPipe, ansible_playbook_path
from kdeploy.run.ssh_config import FILE_NAME as SSH_CONFIG
from kdeploy.run.warm_up import warming_up

if TYPE_CHECKING:
    from kdeploy.config import Config
    from kdeploy.plan import Plan

EventSink = Callable[[dict[str, Any]], None]

LOCK_HELD_MARKER = "Deploy lock already in place"
# The lock status task (roles/lock, plan/lock.py's LOCK_REPORT_TASKS) a check runs instead of
# taking the lock: its output is who holds the lock, if anyone.
LOCK_STATUS_TASK = "Read the deploy lock."
# What a role unit reports it did or (check mode) would do: a key of its module's result or a
# fact its last task sets (`{changes: [change, ...], containers?: {before, after}}`).
OUTCOME_KEY = "kdeploy_outcome"
# Where the run's ssh masters live: a directory of this command alone (see process_owner).
CONTROL_PATH_ENV = "ANSIBLE_SSH_CONTROL_PATH_DIR"
# Not a runner event: the tick `on_event` gets while the playbook runs (about every
# `pexpect_timeout`), so the output can say that a long step still runs (a health wait).
IDLE_EVENT = "kdeploy_idle"
# The one inventory plugin of kdeploy's runs. Ansible's default list tries `auto` before `yaml`,
# and `auto` parses the whole hosts.yml (and deep-copies it) only to find no `plugin:` key, so
# every run read the inventory twice: 9 s of CPU for 1,000 proxy hosts, 4 s with `yaml` alone
# (docs/performance.md, round nine). Set for kdeploy's runs, not in ansible.cfg, so an exported
# directory still reads any inventory it is given.
INVENTORY_PLUGIN = "ansible.builtin.yaml"


def runner_envvars(private_data_dir: Path, host_key_checking: bool = True) -> dict[str, str]:
    """Environment for the ansible-playbook process (never a secret value)."""
    venv_bin = str(Path(ansible_playbook_path()).parent)
    return {
        "ANSIBLE_CONFIG": str(private_data_dir / "project" / "ansible.cfg"),
        # Runner sets this to False unless told, over ansible.cfg: say what the config asks.
        "ANSIBLE_HOST_KEY_CHECKING": str(host_key_checking),
        "ANSIBLE_INVENTORY_ENABLED": INVENTORY_PLUGIN,
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
    }


def run_plan(
    config: Config, plan: Plan, secrets: Mapping[str, str], on_event: EventSink,
    keep_dir: Path | None = None, cancellable: bool = True,
) -> RunResult:
    """Run `plan` against the hosts of `config` and return its outcome.

    Args:
        config: the loaded config (inventory source).
        plan: what to run.
        secrets: env var name -> secret value, delivered through a FIFO.
        on_event: receives each runner event (already a plain dict).
        keep_dir: write the private data dir here instead of a temporary directory.
        cancellable: a stop signal cuts the run (False for the cleanup after one: the settle
            step and the lock release run to the end).
    """
    with owning_processes() as owner:
        if keep_dir is not None:
            return _run_in(keep_dir, config, plan, secrets, on_event, owner, cancellable)
        with tempfile.TemporaryDirectory(prefix="kdeploy-") as directory:
            return _run_in(Path(directory), config, plan, secrets, on_event, owner,
                           cancellable)


def _run_in(
    directory: Path, config: Config, plan: Plan, secrets: Mapping[str, str],
    on_event: EventSink, owner: ProcessOwner, cancellable: bool,
) -> RunResult:
    write_private_data_dir(directory, config, plan)
    result = RunResult()
    envvars = runner_envvars(directory, host_key_checking(config))
    envvars[CONTROL_PATH_ENV] = str(owner.control_dir)
    if owner.facts_dir is not None:
        envvars.update(fact_cache_envvars(owner.facts_dir))
    started = time.monotonic()

    def cancelled() -> bool:
        # Runner asks this after each wait for output: the one place a quiet run is seen.
        if owner.signum is None:
            on_event({"event": IDLE_EVENT})
        if not cancellable or owner.signum is None:
            return False
        owner.stop(keep_masters=True)  # workers and their ssh too, not only ansible-playbook
        return True

    # Once per command (later runs find the masters still open), and no more connections
    # starting at once than Ansible's forks would start: the first hosts it reaches.
    ahead = [host for host in plan.connect_ahead if host not in owner.warmed][:config.forks]
    owner.warmed.update(ahead)
    with (SecretPipe(directory, secrets) as pipe, owner.deferring(),
          warming_up(config, ahead, directory / "project" / SSH_CONFIG, owner.control_dir,
                     owner.facts_dir)):
        envvars[FIFO_ENV] = str(pipe.fifo)
        # Imported here, with the warm-ups under way: loading it takes about 0.1 s, and most
        # commands never need it.
        import ansible_runner

        from kdeploy.run.prompt_close import prompt_close

        with prompt_close():
            runner = ansible_runner.run(
                private_data_dir=str(directory),
                # With `binary` runner runs in raw mode and appends no playbook: name it ourselves.
                cmdline=" ".join([plan.playbook, *plan.mode_args()]),
                tags=",".join(plan.tags) or None,
                skip_tags=",".join(plan.skip_tags) or None,
                limit=plan.limit,
                envvars=envvars,
                binary=str(pipe.launcher),
                suppress_env_files=True,
                quiet=True,
                event_handler=lambda event: _collect(event, result, on_event),
                # The facts live in the command's cache (envvars above), not in one under each
                # run's artifacts: runner sets one up only for the type "jsonfile".
                fact_cache_type="none",
                cancel_callback=cancelled,
                # How often runner looks at cancel_callback while the playbook is quiet.
                settings={"pexpect_timeout": 0.2},
            )
    result.status, result.rc = runner.status, runner.rc
    if cancellable and owner.signum is not None:
        result.signal = owner.signum
    result.duration = time.monotonic() - started
    if (runner.status != "successful" and not result.failures and result.lock_held is None
            and not result.interrupted):
        result.failures.append(HostFailure("localhost", "ansible-playbook",
                                           _tail(runner.stdout.read() if runner.stdout else "")))
    return result


def _collect(event: dict[str, Any], result: RunResult, on_event: EventSink) -> bool:
    kind = event.get("event", "")
    data = event.get("event_data", {})
    if kind == "runner_on_start":
        result.hosts.add(data.get("host", "?"))
    elif kind in ("runner_on_ok", "runner_on_failed"):
        result.reached.add(data.get("host", "?"))
    if kind == "runner_on_ok":
        _collect_outcome(data, result)
    if kind == "playbook_on_stats":
        result.stats = {key: data.get(key) or {} for key in
                        ("ok", "changed", "failures", "dark", "skipped", "ignored", "rescued")}
    elif kind == "runner_on_unreachable":
        message = (data.get("res") or {}).get("msg", "unreachable")
        result.failures.append(HostFailure(data.get("host", "?"), data.get("task", ""),
                                           str(message), unreachable=True,
                                           play=data.get("play", "")))
    elif kind == "runner_on_failed" and not data.get("ignore_errors"):
        message = str((data.get("res") or {}).get("msg", "failed"))
        if LOCK_HELD_MARKER in message:
            result.lock_held = message
        else:
            result.failures.append(HostFailure(data.get("host", "?"), data.get("task", ""),
                                               message))
    on_event(event)
    # Keep only what is worth reading later on disk; everything else lives in memory.
    return kind in ("playbook_on_stats", "runner_on_failed", "runner_on_unreachable")


def _collect_outcome(data: dict[str, Any], result: RunResult) -> None:
    # A module's own `kdeploy_outcome` (release) or one set with set_fact by a role's last task.
    res = data.get("res") or {}
    outcome = res.get(OUTCOME_KEY)
    if outcome is None:
        outcome = (res.get("ansible_facts") or {}).get(OUTCOME_KEY)
    if isinstance(outcome, dict):
        result.add_outcome(data.get("host", "?"), outcome)
    if data.get("task") == LOCK_STATUS_TASK and result.lock_seen is None:
        result.lock_seen = str(res.get("stdout") or "").strip() or None


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "ansible-playbook failed"
