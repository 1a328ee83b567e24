"""Kamal's `run_over_ssh`: the local ssh command line for an interactive command on a host."""

from __future__ import annotations

from pathlib import Path

from kdeploy.config import Config


def ssh_argv(config: Config, host: str, command: str) -> list[str]:
    """Kamal's `run_over_ssh`: `ssh [-F …] [-J …] [-i key…] -t user@host -p N CMD` as an argv.

    Used by `server exec -i`, `app exec -i` and `app logs -f`: an interactive session on the
    primary host through the local ssh.
    """
    ssh = config.ssh
    argv = ["ssh"]
    if ssh.config is False:
        argv += ["-F", "/dev/null"]
    elif isinstance(ssh.config, str):
        argv += ["-F", ssh.config]
    elif isinstance(ssh.config, tuple):
        for path in ssh.config:
            argv += ["-F", path]
    if ssh.proxy:
        argv += ["-J", ssh.proxy]
    elif ssh.proxy_command:
        argv += ["-o", f"ProxyCommand={ssh.proxy_command}"]
    for key in ssh.keys:
        # Kamal's command line goes through a shell, which expands `~`; an argv does not.
        argv += ["-i", str(Path(key).expanduser())]
    if ssh.keys_only:
        argv += ["-o", "IdentitiesOnly=yes"]
    return [*argv, "-t", f"{ssh.user}@{host}", "-p", str(ssh.port), command]
