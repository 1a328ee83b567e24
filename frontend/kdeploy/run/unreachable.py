"""Say why a host was unreachable when the task that met it hid ssh's words.

A task with `no_log: true` (most tasks that handle a secret; the collection's modules take theirs
in no_log options instead) hides its whole result, ssh's message included, so such a host would
only be "unreachable"; mitogen says only "unrecognized or mismatching host key". kdeploy then
connects to those hosts once more with the run's own inventory and ssh settings and Ansible's own
ssh connection, running nothing but `true`
(playbooks/connection_check.yml), and keeps ssh's message from that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kdeploy.config import Config
from kdeploy.plan import Plan, PlaybookImport
from kdeploy.run.result import RunResult
from kdeploy.run.ssh_errors import HOST_KEY_MITOGEN, OTHER, RECORDED_BY_CHECK, classify_ssh_error

CHECK_PLAYBOOK = "connection_check.yml"
_UNTOLD = (OTHER, HOST_KEY_MITOGEN)
RunPlan = Callable[..., RunResult]


def explain_unreachable(config: Config, plan: Plan, result: RunResult,
                        run_plan: RunPlan) -> None:
    """Replace the unreachable hosts' messages that give no reason by ssh's own, in place."""
    hidden = {failure.host: failure for failure in result.failures
              if failure.unreachable and classify_ssh_error(failure.message).reason in _UNTOLD}
    if not hidden:
        return
    check = replace(plan, command=f"{plan.command}_connection_check", entry=None,
                    imports=(PlaybookImport(CHECK_PLAYBOOK, ()),), tags=(), skip_tags=(),
                    limit=",".join(hidden), notices=(), secret_names=(), report_task=None,
                    hook_points=())
    checked = run_plan(config, check, {}, lambda event: None)
    still = {found.host: found.message for found in checked.failures if found.unreachable}
    for host, failure in hidden.items():
        if host in still:
            failure.message = still[host]
        elif classify_ssh_error(failure.message).reason == HOST_KEY_MITOGEN:
            # Ansible's ssh got through with accept-new: the key was new, and is recorded now.
            failure.message = RECORDED_BY_CHECK
