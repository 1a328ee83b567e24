"""Peer test: the real Kamal 2.11.0 and kdeploy read every fixture the same way.

For each fixture Kamal accepts, `kamal config` and `kdeploy config` must agree on the roles
and all hosts (both in Kamal's order, `--json` included; deploy_with_unsorted_roles.yml declares
its roles out of name order), the primary host, the version, the repository and the absolute
image. `kamal config` prints accessories only as written, so a small probe config asks Kamal's
own `Kamal::Configuration` for each accessory's hosts from ERB (still a `kamal config` run).
Invalid fixtures must be rejected by both, with the same message.

Skipped when no `kamal` binary is found, except under CI (`CI=true`), where that fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from peer_support import KDEPLOY, require_kamal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
VALID = sorted(p for p in FIXTURES.glob("deploy_*.yml") if p.name.count(".") == 1)
INVALID = sorted((FIXTURES / "invalid").glob("deploy_*.yml"))
# Kamal 2.12 keys kdeploy accepts, and the message Kamal 2.11.0 rejects each fixture with.
KAMAL_2_12 = {
    "deploy_with_restart_option.yml":
        "servers/web: Cannot set restart policy in docker options, unless-stopped is required",
    "deploy_with_ssh_forward_agent.yml": "ssh: unknown key: forward_agent",
}

# Fixtures where Kamal 2.11.0 itself crashes, and what kdeploy says instead.
KAMAL_CRASHES = {
    # `servers` may be omitted when accessories exist (Kamal's own rule), but `kamal config`
    # then calls `nil.keys` in Configuration#role_names (NoMethodError). kdeploy loads it, and
    # `kdeploy config` then refuses it as `kdeploy setup` would: the inventory needs the
    # primary role.
    "deploy_with_only_accessories.yml": "ERROR: No role named web",
}

# Asks Kamal for each accessory's hosts; the rest is a minimal valid config.
PROBE = """\
<%
  require "json"
  destination = ENV["KD_PROBE_DESTINATION"].to_s.empty? ? nil : ENV["KD_PROBE_DESTINATION"]
  probed = Kamal::Configuration.create_from(
    config_file: Pathname.new(ENV["KD_PROBE_CONFIG"]), destination: destination)
  File.write(ENV["KD_PROBE_OUT"], JSON.dump(probed.accessories.to_h { |a| [ a.name, a.hosts ] }))
%>
service: probe
image: probe
servers:
  - 127.0.0.1
registry:
  server: localhost:5000
builder:
  arch: amd64
"""

@pytest.fixture(scope="module")
def kamal() -> str:
    return require_kamal()


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "VERSION": "abc", "HOME": os.environ.get("HOME", "/root"), **extra}


def destination_of(path: Path) -> str | None:
    found = [p.name.split(".")[1] for p in FIXTURES.glob(f"{path.stem}.*.yml")]
    return found[0] if found else None


def run_kamal(kamal: str, config: Path, destination: str | None,
              **extra: str) -> subprocess.CompletedProcess[str]:
    args = [kamal, "config", "-c", str(config), *(["-d", destination] if destination else [])]
    return subprocess.run(args, cwd=FIXTURES, env=environment(**extra), capture_output=True,
                          text=True, timeout=120, check=False)


def run_kdeploy(config: Path, destination: str | None,
                *options: str) -> subprocess.CompletedProcess[str]:
    # -P: `kdeploy config` checks what `deploy -P` checks; the fixtures have no Dockerfile.
    args = [*KDEPLOY, "config", "-P", "-c", str(config),
            *(["-d", destination] if destination else []), *options]
    return subprocess.run(args, cwd=FIXTURES, env=environment(), capture_output=True, text=True,
                          timeout=120, check=False)


class RubyYamlLoader(yaml.SafeLoader):
    """Reads `kamal config` output: `:symbol` keys and `!ruby/object` values."""


def _ruby_object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


RubyYamlLoader.add_multi_constructor("!ruby/", _ruby_object)


def parse_kamal(output: str) -> dict[str, Any]:
    return unsymbolize(yaml.load(output, Loader=RubyYamlLoader))  # a SafeLoader subclass


def unsymbolize(value: Any) -> Any:
    """`:user` keys (Ruby symbols) become `user`, at every level."""
    if isinstance(value, dict):
        return {(k[1:] if isinstance(k, str) and k.startswith(":") else k): unsymbolize(v)
                for k, v in value.items()}
    return [unsymbolize(item) for item in value] if isinstance(value, list) else value


def kamal_error(output: str) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output).strip()
    return re.sub(r"^ERROR \([\w:]+\): ", "", plain)


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_kamal_and_kdeploy_agree(kamal, path, tmp_path):
    destination = destination_of(path)
    result = run_kamal(kamal, path, destination)
    if path.name in KAMAL_CRASHES:
        assert result.returncode != 0
        ours = run_kdeploy(path, destination, "--json")
        assert (ours.returncode, ours.stderr.strip()) == (2, KAMAL_CRASHES[path.name])
        return
    assert result.returncode == 0, result.stdout + result.stderr
    expected = parse_kamal(result.stdout)
    ours = yaml.safe_load(run_kdeploy(path, destination).stdout)
    selection = json.loads(run_kdeploy(path, destination, "--json").stdout)

    assert sorted(role["name"] for role in ours["roles"]) == expected["roles"]
    assert ours["hosts"] == expected["hosts"]
    # `--json` in Kamal's order too: roles by name, hosts as Kamal lists them. It lists the roles
    # a command acts on, as Kamal's commander does: a role without hosts is left out.
    with_hosts = {role["name"] for role in ours["roles"] if role["hosts"]}
    assert selection["roles"] == [name for name in expected["roles"] if name in with_hosts]
    assert selection["hosts"] == expected["hosts"]
    for key in ("primary_host", "version", "repository", "absolute_image",
                "service_with_version"):
        assert selection[key] == expected[key], key

    assert_same_settings(expected, ours)

    probe = tmp_path / "probe.yml"
    probe.write_text(PROBE)
    out = tmp_path / "accessories.json"
    probed = run_kamal(kamal, probe, None, KD_PROBE_CONFIG=str(path), KD_PROBE_OUT=str(out),
                       KD_PROBE_DESTINATION=destination or "")
    assert probed.returncode == 0, probed.stdout + probed.stderr
    kamal_accessories = json.loads(out.read_text())
    assert {a["name"]: a["hosts"] for a in ours["accessories"]} == kamal_accessories
    assert selection["accessory_hosts"] == {
        name: hosts for name, hosts in kamal_accessories.items() if hosts}


def assert_same_settings(expected: dict[str, Any], ours: dict[str, Any]) -> None:
    """The settings `kamal config` prints besides hosts: volumes, ssh, sshkit, builder, logging."""
    assert expected["volume_args"] == [a for v in ours["volumes"] for a in ("--volume", v)]
    ssh = expected["ssh_options"]
    assert (str(ssh["user"]), str(ssh["port"])) == (ours["ssh"]["user"], str(ours["ssh"]["port"]))
    assert expected["sshkit"] == ours["sshkit"]
    assert expected["builder"] == ours["builder"]
    assert expected["logging"] == logging_args(ours["logging"])


def logging_args(logging: dict[str, Any]) -> list[str]:
    """Kamal's root `logging_args` from kdeploy's root logging."""
    options = logging["options"] or ({} if logging["driver"] else {"max-size": "10m"})
    driver = ["--log-driver", f'"{logging["driver"]}"'] if logging["driver"] else []
    return driver + [a for k, v in options.items() for a in ("--log-opt", f'{k}="{v}"')]


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_kamal_and_kdeploy_reject_alike(kamal, path):
    relative = path.relative_to(FIXTURES)
    theirs = run_kamal(kamal, relative, None)
    ours = run_kdeploy(relative, None, "--json")
    assert theirs.returncode != 0 and ours.returncode == 2
    assert ours.stderr.strip() == f"ERROR: {relative}: {kamal_error(theirs.stdout + theirs.stderr)}"


@pytest.mark.parametrize("name", sorted(KAMAL_2_12))
def test_kamal_2_12_keys_are_accepted_where_kamal_2_11_rejects_them(kamal, name):
    relative = Path("kamal_2_12") / name
    theirs = run_kamal(kamal, relative, None)
    ours = run_kdeploy(relative, None, "--json")
    assert theirs.returncode != 0 and kamal_error(theirs.stdout + theirs.stderr) == KAMAL_2_12[name]
    assert ours.returncode == 0, ours.stderr
