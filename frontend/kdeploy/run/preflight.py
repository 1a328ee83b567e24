"""Everything a run refuses for the config's sake, checked before it touches a host.

`execute_plan` calls `preflight` first, and `kdeploy config` calls it on the plans a deploy and
a setup would run: both refuse with the same exception and message, so `kdeploy config -q` is a
lint step a pipeline can trust. Nothing here imports Ansible (`kdeploy config` stays cheap).
"""

from __future__ import annotations

from kdeploy.config import Config
from kdeploy.host_contract.names import secret_env_var
from kdeploy.plan import Plan
from kdeploy.run.hooked import check_hooks, hooks_to_run
from kdeploy.run.private_data_dir import check_private_data_dir
from kdeploy.selection import CommandContext


def plan_secrets(config: Config, plan: Plan) -> dict[str, str]:
    """Look up exactly the secrets the plan needs (Kamal reads secrets only when needed)."""
    return {secret_env_var(name): config.secrets[name] for name in plan.secret_names}


def preflight(context: CommandContext, plan: Plan, *, skip_hooks: bool = False,
              check_data_dir: bool = True) -> dict[str, str]:
    """Check what `plan` needs from the config, in the order a run meets it; return its secrets.

    1. The plan's secrets: each name defined, the secrets files readable and well formed, their
       commands successful.
    2. The hooks that would run: their `x-kdeploy` playbooks exist.
    3. What writing the private data dir would refuse (the writer's own checks, nothing
       written): the inventory (a `proxy:` key the proxy engine cannot honour), mitogen
       (`KDEPLOY_MITOGEN`, installed).

    Args:
        context: the command's config and selection.
        plan: what the command would run.
        skip_hooks: `-H`: no hook runs, so none is checked.
        check_data_dir: False when the private data dir of another plan of this config was just
            checked: what in it can be refused depends on the config alone.

    Returns:
        Env var name -> secret value, for the run (never printed).

    Raises:
        ConfigError: the first refusal, worded as the run would word it (exit 2).
    """
    config = context.config
    secrets = plan_secrets(config, plan)
    check_hooks(config, hooks_to_run(config, plan, skip_hooks=skip_hooks))
    if check_data_dir:
        check_private_data_dir(config)
    return secrets
