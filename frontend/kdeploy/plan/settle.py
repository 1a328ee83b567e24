"""Plan the settle step that runs after an interrupt: bring the run's hosts to rest, then report.

kdeploy kills its local Ansible processes when it is interrupted; the modules they started go on
running on the hosts. `settle.yml` (roles/settle) finds them over the same SSH
connections, lets them stop at a safe point or finish, waits for Docker, and reports the
containers each host was left running. Only then is the deploy lock released.
"""

from __future__ import annotations

from collections.abc import Iterable

from kdeploy.config import Config
from kdeploy.host_contract import caddy, kamal_proxy
from kdeploy.plan.model import Plan, PlaybookImport

SETTLE_REPORT_TASK = "Settle the host."
# Room for what an in-flight step may still do: a container's readiness wait and a drained stop.
SETTLE_MARGIN = 30


def build_settle_plan(config: Config, hosts: Iterable[str], elapsed: float) -> Plan:
    """Plan `settle.yml` on `hosts`, the hosts an interrupted run may still be acting on.

    Args:
        config: the loaded config (service and timeouts).
        hosts: the interrupted run's hosts.
        elapsed: seconds since the interrupted command started (how far back Docker's events
            are read on each host).
    """
    return Plan(
        command="settle",
        imports=(PlaybookImport("settle.yml", ("settle",)),),
        limit=",".join(hosts),
        extravars={
            "settle_timeout": config.deploy_timeout + config.drain_timeout
            + SETTLE_MARGIN,
            "settle_since": int(elapsed) + SETTLE_MARGIN,
            "settle_prefixes": [f"{config.service}-", kamal_proxy.CONTAINER,
                                        caddy.CONTAINER],
        },
        # The entry playbook must not take the part's name (it would import itself).
        entry="kdeploy_settle",
        report_task=SETTLE_REPORT_TASK,
    )
