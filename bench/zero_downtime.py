"""Requests served, failed and their latency through the caddy proxy: quiet vs during a deploy.

On the sandbox (role `web` on hosts 1-2 behind the proxy, `x-kdeploy: proxy: {engine: caddy,
image: <registry>/kdeploy-caddy:2}`, role `job` on host 3 without one), sets up v1 once
(untimed), then `--runs` times: a quiet period of `--quiet` seconds with a client on this machine
GETting `http://<web host>/version` through each host's proxy without pause (one thread per
host, a new connection per request: kdeploy.sandbox.traffic), then the same client during
`kdeploy deploy -P --version V -q`, V switching between v2 and v1 so that every deploy replaces
the running version. Each deploy must end with every response naming V. Prints, for the quiet
periods and the deploys (all runs together): requests served, failed, p50 and p99 latency, and
the p99 ratio deploy/quiet. Goal: 0 failed, ratio <= 2.

The client, kdeploy (Ansible) and the sandbox hosts share this machine's cores, so the deploy's
own CPU use shows in the latency as well. The whole run holds the shared sandbox's lock and ends
with clean hosts whatever happens.

    python bench/zero_downtime.py [--runs 3] [--quiet 10] [--timeout 2] [--nice 19]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from common import sandbox, sandbox_lock, tool

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import JOB_CMD, deploy_config
from kdeploy.sandbox.traffic import Result, Summary, Traffic, summarize

VERSIONS = ("v1", "v2")
WEB = (0, 1)  # host indexes (0-based) of the web role; the job role runs on the third host
# What a proxied deploy leaves on a host besides containers: Kamal's and kdeploy's state, the
# proxy's volumes (Caddy's autosaved routes would otherwise outlive the bench).
CLEAN = ("docker ps -aq | xargs -r docker rm -f >/dev/null; rm -rf ~/.kamal ~/.kdeploy; "
         "docker volume rm -f kdeploy-proxy-config kdeploy-proxy-data >/dev/null 2>&1; true")


def project_config(info: SandboxInfo) -> dict[str, object]:
    """The e2e test's shape: web (hosts 1-2) behind the caddy proxy, job (host 3) without."""
    addresses = [host.address for host in info.hosts]
    config = deploy_config(info.registry, str(info.key_path), addresses)
    config.pop("accessories")
    config["servers"] = {"web": {"hosts": [addresses[i] for i in WEB]},
                         "job": {"hosts": [addresses[2]], "cmd": JOB_CMD, "proxy": False}}
    config["proxy"] = {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1, "timeout": 2}}
    config["x-kdeploy"] = {"proxy": {"engine": "caddy",
                                     "image": f"{info.registry}/kdeploy-caddy:2"}}
    return config


def write_project(directory: Path, info: SandboxInfo) -> Path:
    """config/deploy.yml and .kamal/secrets under `directory`."""
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / "config" / "deploy.yml").write_text(
        yaml.safe_dump(project_config(info), sort_keys=False))
    (directory / ".kamal").mkdir(exist_ok=True)
    (directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=sandbox\n")
    return directory


def clean(info: SandboxInfo) -> None:
    """Every host without containers, deploy state or proxy volumes."""
    procs = [subprocess.Popen(info.ssh_command(host, CLEAN)) for host in info.hosts]
    for proc in procs:
        proc.wait()


# Niceness of the kdeploy process (--nice): on this machine the controller shares its 2 cores
# with the sandbox hosts and the client; on a real deploy it runs elsewhere.
NICE = [0]


def kdeploy(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run kdeploy in the project; exit the bench with its output when it fails."""
    nice = ["nice", "-n", str(NICE[0])] if NICE[0] else []
    result = subprocess.run([*nice, tool("kdeploy"), *args], cwd=project, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"kdeploy {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                 f"{result.stderr}")
    return result


def wait_serving(urls: list[str], version: str, timeout: float = 30) -> None:
    """Wait until every URL answers `version` (the proxy routes to it); exit otherwise."""
    deadline = time.monotonic() + timeout
    recent = summarize([])
    with Traffic(urls, timeout=2, pause=0.05) as traffic:
        while time.monotonic() < deadline:
            recent = summarize(traffic.results(since=time.time() - 0.5))
            if recent.last == dict.fromkeys(urls, version) and recent.failed == 0:
                return
            time.sleep(0.1)
    sys.exit(f"the web hosts do not serve {version} through the proxy: {recent.last} "
             f"{recent.errors}")


def line(name: str, summary: Summary) -> str:
    """One printed line: served, failed, p50, p99."""
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.1f} ms"

    return (f"{name:<7} served {summary.served:>6}  failed {summary.failed:>4}  "
            f"p50 {ms(summary.p50):>9}  p99 {ms(summary.p99):>9}")


def measure(runs: int, quiet: float, timeout: float, say: Callable[[str], None]
            ) -> tuple[Summary, Summary]:
    """Set up v1, then `runs` quiet periods and deploys; the summaries of each kind."""
    info = sandbox(3)
    clean(info)
    urls = [f"http://{info.hosts[i].address}/version" for i in WEB]
    quiet_results: list[Result] = []
    deploy_results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="kdeploy-bench-") as directory:
        project = write_project(Path(directory), info)
        say("setting up v1 behind the caddy proxy (untimed)")
        kdeploy(project, "setup", "-P", "--version", "v1", "-q")
        wait_serving(urls, "v1")
        running = "v1"
        try:
            for run in range(runs):
                with Traffic(urls, timeout=timeout) as traffic:
                    time.sleep(quiet)
                quiet_results += traffic.results()
                say(f"run {run + 1}/{runs}: {line('quiet', traffic.summary())}")
                version = VERSIONS[1 - VERSIONS.index(running)]
                with Traffic(urls, timeout=timeout) as traffic:
                    kdeploy(project, "deploy", "-P", "--version", version, "-q")
                running = version
                summary = traffic.summary()
                deploy_results += traffic.results()
                say(f"run {run + 1}/{runs}: {line('deploy', summary)}  -> {version}")
                if summary.last != dict.fromkeys(urls, version):
                    sys.exit(f"after deploying {version} the proxies answer {summary.last}")
                for error in summary.errors:
                    say(f"  failed: {error}")
        finally:
            subprocess.run([tool("kdeploy"), "remove", "-y", "-q", "--version", running],
                           cwd=project, capture_output=True, check=False)
            clean(info)
    return summarize(quiet_results), summarize(deploy_results)


def main() -> None:
    """Measure under the sandbox lock, then print served/failed/p50/p99 and the p99 ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quiet", type=float, default=10.0,
                        help="seconds of each quiet period")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds before a request counts as failed")
    parser.add_argument("--nice", type=int, default=0,
                        help="run kdeploy at this niceness (the controller's CPU use shows in "
                             "the latency, as the hosts and the client share this machine)")
    args = parser.parse_args()
    NICE[0] = args.nice

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with sandbox_lock():
        quiet, deploy = measure(args.runs, args.quiet, args.timeout, say)
    print(f"zero downtime through the caddy proxy, 2 web hosts, {args.runs} deploys "
          f"(v1<->v2), {args.quiet:g} s quiet before each:")
    print(line("quiet", quiet))
    print(line("deploy", deploy))
    if quiet.p99 and deploy.p99:
        print(f"p99 deploy/quiet {deploy.p99 / quiet.p99:.2f}  (goal: 0 failed, ratio <= 2)")
    if deploy.errors:
        print("failed requests (sample): " + "; ".join(deploy.errors))


if __name__ == "__main__":
    main()
