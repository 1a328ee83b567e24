"""A kdeploy project for the sandbox, written from a dict, and the CLI runs e2e tests make in it.

    project = Project.write(tmp_path, example_config(info), {"KAMAL_REGISTRY_PASSWORD": "x"})
    run = project.kdeploy("setup", "-P", "--version", "v1")
    assert run.returncode == 0, run.output
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import helpers
import yaml
from event_schema import asks_for_json, validate_events
from grammar import grammar_slips

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SECRET, SERVICE, deploy_config

BIN = Path(sys.executable).parent
SECRETS = {SECRET: "sandbox"}
# `[<utc time>] [<performer>] [<role>] <message>`, the role tag left out when there is none.
AUDIT_LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \[[^\]]+\] "
                        r"(?:\[(?P<role>[^\]]+)\] )?(?P<message>.+)$")


def example_config(info: SandboxInfo) -> dict[str, Any]:
    """The sandbox example's config: web on hosts 1-2, job on host 3, db on host 1."""
    return deploy_config(info.registry, str(info.key_path), [h.address for h in info.hosts])


def founding_config(info: SandboxInfo) -> dict[str, Any]:
    """The founding case before the new role: web and the db accessory, both on host 1."""
    config = example_config(info)
    config["servers"] = {"web": {"hosts": [info.host(1).address], "proxy": False}}
    return config


def address(info: SandboxInfo, index: int) -> str:
    """The address of host `index` (1-based)."""
    return info.host(index).address


def free_address(info: SandboxInfo, last_octet: int = 99) -> str:
    """An address inside the sandbox subnet where no host runs."""
    network = ipaddress.ip_network(info.subnet, strict=False)
    candidate = str(network.network_address + last_octet)
    assert candidate not in {h.address for h in info.hosts}
    return candidate


@dataclass(frozen=True)
class Run:
    """A finished CLI run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (what a user sees in a terminal)."""
        return self.stdout + self.stderr

    def events(self) -> list[dict[str, Any]]:
        """The `--output json` lines, each parsed (fails on a line that is not JSON)."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}\n-> exit {self.returncode}\n{self.output}"


@dataclass
class Project:
    """A project dir: config/deploy.yml and .kamal/secrets."""

    directory: Path
    config: dict[str, Any]

    @classmethod
    def write(cls, directory: Path, config: dict[str, Any],
              secrets: dict[str, str] | None = None) -> Project:
        """Write the config and secrets (default: the registry password) under `directory`."""
        project = cls(directory, copy.deepcopy(config))
        project.save()
        secrets_file = directory / ".kamal" / "secrets"
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        values = SECRETS | (secrets or {})
        secrets_file.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
        return project

    @property
    def config_file(self) -> Path:
        """config/deploy.yml."""
        return self.directory / "config" / "deploy.yml"

    def save(self) -> None:
        """(Re)write config/deploy.yml from `config`."""
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config, sort_keys=False))

    def kdeploy(self, *args: str, timeout: float = 300) -> Run:
        """Run the real kdeploy CLI in the project dir."""
        return self.run([sys.executable, "-m", "kdeploy", *args], timeout=timeout)

    def kamal(self, *args: str, timeout: float = 120) -> Run:
        """Run the real Kamal 2 in the project dir (same config, same hosts).

        Kamal (net-ssh) checks host keys against ~/.ssh/known_hosts, and a rebuilt sandbox has
        new ones: it gets a HOME of its own, so it only ever knows this sandbox's keys.
        """
        home = self.directory / ".kamal-home"
        home.mkdir(exist_ok=True)
        return self.run([str(BIN / "kamal"), *args], timeout=timeout,
                        env={**os.environ, "HOME": str(home)})

    def run(self, argv: list[str], timeout: float = 300,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
        """Run any command in the project dir (or `cwd`) and capture its output.

        The stdout of a kdeploy run with `--output json` must be valid events of schema v1
        (`event_schema.validate_events`): every e2e test checks the contract that way. Every
        kdeploy run's output has counts and nouns in agreement (`grammar.grammar_slips`).
        """
        result = subprocess.run(argv, cwd=cwd or self.directory, capture_output=True, text=True,
                                timeout=timeout, env=env, check=False)
        run = Run(tuple(argv), result.returncode, result.stdout, result.stderr)
        if asks_for_json(argv):
            try:
                validate_events(run.stdout.splitlines())
            except AssertionError as error:
                raise AssertionError(f"{error}\n{run}") from None
        if _runs_kdeploy(argv):
            slips = grammar_slips(run.stdout + run.stderr)
            assert not slips, f"count and noun disagree: {slips}\n{run}"
        return run


def _runs_kdeploy(argv: list[str]) -> bool:
    # `python -m kdeploy …` or the `kdeploy` script; not Kamal, docker or ssh.
    words = [str(word) for word in argv]
    return ("-m", "kdeploy") in pairwise(words) or (
        bool(words) and Path(words[0]).name == "kdeploy")


def app_container(role: str, version: str = "v1") -> str:
    """The app container Kamal names for a role (no destination)."""
    return f"{SERVICE}-{role}-{version}"


def accessory_container(name: str) -> str:
    """The accessory container Kamal names (no destination)."""
    return f"{SERVICE}-{name}"


Snapshot = dict[tuple[int, str], tuple[str, str, str]]


def snapshot(info: SandboxInfo) -> Snapshot:
    """{(host index, container name): (id, StartedAt, state)} for every container on every host."""
    return {(index, c.name): (c.id, c.started_at, c.state)
            for index in range(1, len(info.hosts) + 1)
            for c in helpers.containers(info, index)}


def running_names(info: SandboxInfo, index: int) -> set[str]:
    """Names of the running containers on host `index`."""
    return {c.name for c in helpers.containers(info, index) if c.running}


def lock_dirs(info: SandboxInfo, index: int) -> list[str]:
    """The `~/.kamal/lock-*` entries left on host `index`."""
    out = helpers.ssh(info, index, "ls -d ~/.kamal/lock-* 2>/dev/null || true").stdout
    return out.split()


def audit_lines(info: SandboxInfo, index: int) -> list[str]:
    """The lines of the service's audit log on host `index` ([] when there is none)."""
    log = f"~/.kamal/{SERVICE}-audit.log"
    return helpers.ssh(info, index, f"cat {log} 2>/dev/null || true").stdout.splitlines()


def file_mode(info: SandboxInfo, index: int, path: str) -> str | None:
    """The octal mode of a file on host `index` (`600`), or None when it is missing."""
    result = helpers.ssh(info, index, f"stat -c %a {path}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def assert_only_the_lock_changed(events: list[dict[str, Any]], lock_host: str) -> None:
    """A converged run: taking and releasing the lock are its only changes.

    Checked on the result events (by task) and on the summary's stats, which also count the
    `no_log` tasks whose events hide `changed`.
    """
    changed = changed_tasks(events)
    assert all("lock" in f"{play} {task}".lower() for play, task, _ in changed), changed
    per_host = changes_per_host(events)
    assert per_host == {host: 2 if host == lock_host else 0 for host in per_host}, per_host


def changes_per_host(events: list[dict[str, Any]]) -> dict[str, int]:
    """Changed tasks per host from the run's summary (Ansible's stats).

    The summary counts `no_log` tasks too, whose result events hide `changed`.
    """
    return {host: counts["changed"] for host, counts in events[-1]["hosts"].items()}


def changed_tasks(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(play, task, host) of every result event that reports a change."""
    return [(e.get("play") or "", e.get("task") or "", e.get("host") or "")
            for e in events if e.get("type") == "host_result" and e.get("changed")]
