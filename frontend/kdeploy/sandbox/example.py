"""The ready-to-use example project written into the sandbox: a Kamal config for its hosts."""

from __future__ import annotations

from pathlib import Path

import yaml

SERVICE = "kdeploy-demo"
SECRET = "KAMAL_REGISTRY_PASSWORD"
# Keeps running and stops at once on SIGTERM, like a real worker should: sh runs a trap only
# once its foreground command returns, so it waits on a background sleep, which a signal cuts.
JOB_CMD = "sh -c 'trap \"exit 0\" TERM; while true; do sleep 1 & wait $!; done'"


def deploy_config(registry: str, key_path: str, addresses: list[str]) -> dict:
    """The example's deploy.yml as data: web on hosts 1-2, job on host 3, db on host 1."""
    web = addresses[:2]
    job = addresses[2:3] or addresses[-1:]
    return {
        "service": SERVICE,
        "image": SERVICE,
        "servers": {
            "web": {"hosts": web, "proxy": False},
            "job": {"hosts": job, "cmd": JOB_CMD, "proxy": False},
        },
        "registry": {"server": registry, "username": "sandbox", "password": [SECRET]},
        "ssh": {"user": "root", "keys": [key_path], "keys_only": True},
        "builder": {"arch": "amd64"},
        "readiness_delay": 0,
        "deploy_timeout": 30,
        "accessories": {
            "db": {
                "image": f"{registry}/kdeploy-db:1",
                "host": addresses[0],
                "port": "5432:5432",
                "directories": ["data:/data"],
            },
        },
    }


def write_example(directory: Path, registry: str, key_path: str, addresses: list[str]) -> Path:
    """Write `config/deploy.yml` and `.kamal/secrets` under `directory`; return the config path."""
    config = directory / "config" / "deploy.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    header = ("# kdeploy sandbox example: deploys the demo app to the local sandbox hosts.\n"
              "# Images kdeploy-demo:v1, v2, v3 (and v3-unhealthy) are in the sandbox registry.\n")
    body = yaml.safe_dump(deploy_config(registry, key_path, addresses), sort_keys=False)
    config.write_text(header + body)
    secrets = directory / ".kamal" / "secrets"
    secrets.parent.mkdir(parents=True, exist_ok=True)
    # The sandbox registry has no auth: any password logs in; Kamal insists on one.
    secrets.write_text(f"{SECRET}=sandbox\n")
    return config


def usage(directory: Path) -> str:
    """How to use the example, printed after `sandbox up`."""
    return (f"Example project: {directory}\n"
            f"  cd {directory} && kdeploy setup -P --version v1\n"
            "  images in the registry: kdeploy-demo:v1, v2, v3, v3-unhealthy; kdeploy-db:1, 2; "
            "kdeploy-caddy:2; basecamp/kamal-proxy:v0.9.2 (stand-in)")
