"""Kamal's defaults are named once, in frontend/kdeploy/config/defaults.py.

The host side cannot import them: role defaults, argument_specs.yml and the modules'
DOCUMENTATION are literals, and each role must work on its own. So every literal copy is read
here and must equal the Python value. (The `docker_host` copies are left to issue 14.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdeploy.config import defaults

ROOT = Path(__file__).parents[2]
ROLES = ROOT / "roles"
PLUGINS = ROOT / "plugins"
HOST_DEFAULTS = PLUGINS / "module_utils" / "defaults.py"
RELEASE = PLUGINS / "modules" / "release.py"
PROXY_ROUTE = PLUGINS / "modules" / "proxy_route.py"


def assignments(path: Path) -> dict[str, ast.expr]:
    """The module-level `NAME = value` assignments of a Python file, unevaluated."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: node.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def host_defaults() -> dict[str, Any]:
    """plugins/module_utils/defaults.py, the modules' copy."""
    return {name: ast.literal_eval(value) for name, value in assignments(HOST_DEFAULTS).items()}


def role_default(role: str, variable: str) -> Any:
    """A role default; for `{{ kdeploy_x | default(N) }}`, the N it falls back to."""
    value = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())[variable]
    fallback = re.fullmatch(r"\{\{ \w+ \| default\((.+)\) \}\}", str(value))
    return yaml.safe_load(fallback[1]) if fallback else value


def argument_spec_default(role: str, variable: str) -> Any:
    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"][variable]["default"]


def documented_default(module: Path, option: str) -> Any:
    documentation = ast.literal_eval(assignments(module)["DOCUMENTATION"])
    return yaml.safe_load(documentation)["options"][option]["default"]


def spec_default(module: Path, option: str) -> Any:
    """The default in the module's ARGUMENT_SPEC; a bare name is read from module_utils/defaults."""
    spec = assignments(module)["ARGUMENT_SPEC"]
    assert isinstance(spec, ast.Call)
    entry = next(keyword.value for keyword in spec.keywords if keyword.arg == option)
    assert isinstance(entry, ast.Call)
    value = next(keyword.value for keyword in entry.keywords if keyword.arg == "default")
    return host_defaults()[value.id] if isinstance(value, ast.Name) else ast.literal_eval(value)


def test_the_modules_copy_is_the_python_one() -> None:
    copy = host_defaults()
    assert copy
    assert copy == {name: getattr(defaults, name) for name in copy}


@pytest.mark.parametrize(("role", "variable", "name"), [
    ("app", "app_network", "DOCKER_NETWORK"),
    ("bootstrap", "bootstrap_network", "DOCKER_NETWORK"),
    ("app", "app_retain_containers", "RETAIN_CONTAINERS"),
    ("app", "app_readiness_delay", "READINESS_DELAY"),
    ("app", "app_deploy_timeout", "DEPLOY_TIMEOUT"),
    ("app", "app_drain_timeout", "DRAIN_TIMEOUT"),
    ("prune", "prune_retain", "RETAIN_CONTAINERS"),
    ("accessory", "accessory_deploy_timeout", "DEPLOY_TIMEOUT"),
    ("app_ops", "app_ops_proxy_timeout", "DEPLOY_TIMEOUT"),
    ("app_ops", "app_ops_drain_timeout", "DRAIN_TIMEOUT"),
])
def test_role_defaults(role: str, variable: str, name: str) -> None:
    assert role_default(role, variable) == getattr(defaults, name)


@pytest.mark.parametrize(("role", "variable"), [
    ("app", "app_network"),
    ("bootstrap", "bootstrap_network"),
])
def test_argument_specs(role: str, variable: str) -> None:
    assert argument_spec_default(role, variable) == defaults.DOCKER_NETWORK


@pytest.mark.parametrize(("module", "option", "name"), [
    (RELEASE, "readiness_delay", "READINESS_DELAY"),
    (RELEASE, "deploy_timeout", "DEPLOY_TIMEOUT"),
    (PROXY_ROUTE, "network", "DOCKER_NETWORK"),
    (PROXY_ROUTE, "timeout", "DEPLOY_TIMEOUT"),
])
def test_module_documentation_and_argument_spec(module: Path, option: str, name: str) -> None:
    assert documented_default(module, option) == getattr(defaults, name)
    assert spec_default(module, option) == getattr(defaults, name)


@pytest.mark.parametrize(("option", "name"), [
    ("network", "DOCKER_NETWORK"), ("restart_policy", "RESTART_POLICY")])
def test_the_releases_fallback_behind_the_spec(option: str, name: str) -> None:
    # The release reads these from its spec when not given; without either, the fallback.
    fallbacks = assignments(RELEASE)["SPEC_FALLBACKS"]
    assert isinstance(fallbacks, ast.Call)
    value = next(keyword.value for keyword in fallbacks.keywords if keyword.arg == option)
    assert isinstance(value, ast.Name) and host_defaults()[value.id] == getattr(defaults, name)
    documentation = ast.literal_eval(assignments(RELEASE)["DOCUMENTATION"])
    described = yaml.safe_load(documentation)["options"][option]["description"]
    assert described.endswith(f", else C({getattr(defaults, name)}).")


@pytest.mark.parametrize("role", ["accessory", "proxy"])
def test_the_network_kamals_prepare_creates(role: str) -> None:
    tasks = (ROLES / role / "tasks" / "network.yml").read_text()
    assert re.findall(r"docker network create ([\w.-]+)", tasks) == [defaults.DOCKER_NETWORK] * 2


def test_the_interface_doc_states_the_timings() -> None:
    doc = (ROOT / "docs" / "ansible-interface.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `kdeploy_readiness_delay`"))
    names = re.findall(r"`kdeploy_(\w+)`", row.split("|")[1])
    values = [int(value) for value in re.findall(r"`(\d+)`", row.split("|")[2])]
    assert dict(zip(names, values, strict=True)) == {
        "readiness_delay": defaults.READINESS_DELAY,
        "deploy_timeout": defaults.DEPLOY_TIMEOUT,
        "drain_timeout": defaults.DRAIN_TIMEOUT,
    }
