"""`kdeploy config`'s checks: what a deploy and a setup would refuse, without touching a host.

The plans are built by the same builders and checked by the same `run.preflight` as the commands
themselves, so a refusal here is the exception, message and exit code the command would give.
"""

from __future__ import annotations

from dataclasses import replace

from kdeploy.image.checks import check_builder, check_dockerfile
from kdeploy.plan import SetupOptions, build_deploy_plan, build_setup_plan
from kdeploy.run.kamal_hooks import hook_exists
from kdeploy.run.preflight import preflight
from kdeploy.selection import CommandContext


def check_config(context: CommandContext, *, skip_push: bool, skip_hooks: bool) -> None:
    """Refuse, as `deploy` then `setup --with-accessories` would, whatever the config gets wrong.

    `deploy`'s checks come first (its message is the one a pipeline meets first); they run when
    the config has app roles, since an accessories-only config never deploys. `setup` adds
    every accessory, the proxy and their secrets. Machine-dependent build checks (Docker,
    buildx, a remote builder) are not made: they depend on the machine that builds.

    Args:
        context: the command's config, filters and selection.
        skip_push: `-P`: the deploy pulls an image built elsewhere, so no build check applies.
        skip_hooks: `-H`: no hook runs, so none is checked.

    Raises:
        UsageError: no version, no hosts for the filters, or a builder kdeploy cannot drive.
        ConfigError: a check of `run.preflight` fails.
    """
    config = context.config
    deploys = bool(config.roles)
    if deploys:
        plan = build_deploy_plan(context, "deploy")
        if not skip_push:
            # The build runs pre-connect itself (cli/deploy.py), so the plan does not again.
            plan = replace(plan, hooks_done=("pre-connect",))
        preflight(context, plan, skip_hooks=skip_hooks)
        if not skip_push:
            check_builder(config)
            # A pre-build hook runs before the Dockerfile is looked for, and may write it.
            if skip_hooks or not hook_exists(config, "pre-build"):
                check_dockerfile(config)
    setup = build_setup_plan(context, SetupOptions(skip_push=True, with_accessories=True))
    # What the private data dir can refuse depends on the config alone: one check covers both
    # plans.
    preflight(context, setup, skip_hooks=skip_hooks, check_data_dir=not deploys)
