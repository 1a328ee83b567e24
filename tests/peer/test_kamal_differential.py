"""Differential test: mutated configs are accepted or rejected alike by Kamal 2.11.0 and kdeploy.

Each example mutates a valid fixture (tests/unit/config/config_mutations.py) and runs both
`kamal config` and `kdeploy config -P --json` on it. Both must accept it, or both reject it with
the same message — except where Kamal crashes with a Ruby exception (kdeploy then reports a
config error or accepts), and where kdeploy is stricter on purpose (docs/config.md).

KD_PEER_EXAMPLES sets the number of examples (default 25; each runs Kamal once, ~1 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peer_support import KDEPLOY, require_kamal

# The mutations live with the property test they were written for.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "config"))
from config_mutations import SOURCES, mutate

# Kamal's own errors; anything else (NoMethodError, TypeError, …) is a Kamal crash.
KAMAL_ERROR = re.compile(r"ERROR \((Kamal::ConfigurationError|ArgumentError)\): (.*)")
# Ruby's own ArgumentErrors (e.g. sorting hosts of mixed types) are crashes, not Kamal's words.
RUBY_CRASH = re.compile(r"^comparison of \S+ with .+ failed$")
# Where kdeploy rejects on purpose what Kamal only fails on later (docs/config.md).
STRICTER = ("x-kdeploy", "should be local:remote[:options]", "local and remote are required",
            "ssh/port: should be an integer", "boot/limit: should be an integer",
            "Invalid publish IP address",
            # Names that become paths, container names and groups (docs/config.md, Names).
            "Invalid role name", "Invalid accessory name", "Invalid accessory service name",
            "would share the inventory group", "Must not start with a hyphen",
            # An accessory without an image (Kamal fails only when it boots it).
            ": Missing required configuration for image",
            # `options:` docker cannot take as flags (Kamal writes them into its shell line).
            "not a docker run flag name", "false cannot be passed to docker run",
            "should be a string, a number or true, or a list of them",
            # `kdeploy config` also refuses what a deploy or setup would (run/preflight.py),
            # which `kamal config` never checks: secrets, the version.
            "Secret '", "No version to",
            "No app hosts to", "No hosts to set up", "No host to hold the deploy lock",
            "No role named")


@pytest.fixture(scope="module")
def kamal() -> str:
    return require_kamal()


def outcome(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "VERSION": "abc"})


@settings(max_examples=int(os.environ.get("KD_PEER_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), data=st.data())
def test_mutations_are_judged_alike(kamal, tmp_path, source, data):
    config = mutate(source, data)
    (tmp_path / "deploy.yml").write_text(yaml.safe_dump(config))
    theirs = outcome([kamal, "config", "-c", "deploy.yml"], tmp_path)
    ours = outcome([*KDEPLOY, "config", "-P", "--json", "-c", "deploy.yml"], tmp_path)
    assert ours.returncode in (0, 2) and "Traceback" not in ours.stderr
    our_error = ours.stderr.strip().removeprefix("ERROR: ").removeprefix("deploy.yml: ")
    if any(marker in our_error for marker in STRICTER):
        return
    if theirs.returncode == 0:
        assert ours.returncode == 0, our_error
        return
    kamal_error = KAMAL_ERROR.search(re.sub(r"\x1b\[[0-9;]*m", "", theirs.stdout))
    if kamal_error is None or RUBY_CRASH.search(kamal_error.group(2)):
        return  # Kamal crashed on this input; kdeploy's own answer is checked above
    assert our_error == kamal_error.group(2).strip()
