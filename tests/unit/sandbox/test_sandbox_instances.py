"""Sandbox instances side by side: every machine-wide name differs, teardown stays in its own."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdeploy.sandbox import layout, network, teardown
from kdeploy.sandbox.state import HostState, SandboxState

INSTANCES = range(layout.MAX_INSTANCE + 1)


def test_instance_0_keeps_the_historical_names() -> None:
    names = layout.instance_names(0)
    assert (names.dir, names.cache, names.subnet, names.bridge, names.host_prefix,
            names.veth_prefix, names.cgroup, names.builder_run) == (
        "/var/lib/kdeploy-sandbox", "/var/cache/kdeploy-sandbox", "10.213.7.0/24",
        "kdsandbox0", "kd-host", "kdveth", "kdeploy-sandbox", "/run/kdeploy-sandbox-builder")


def test_instance_1_names() -> None:
    names = layout.instance_names(1)
    assert (names.subnet, names.bridge, names.host_prefix, names.veth_prefix) == (
        "10.213.8.0/24", "kdsandbox1", "kd1-host", "kd1veth")
    assert (names.dir, names.cache, names.cgroup) == (
        "/var/lib/kdeploy-sandbox-1", "/var/cache/kdeploy-sandbox-1", "kdeploy-sandbox-1")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(layout.InstanceNames)])
def test_no_two_instances_share_a_name(field: str) -> None:
    values = [getattr(layout.instance_names(n), field) for n in INSTANCES]
    assert len(set(values)) == len(values)


def test_names_fit_interface_limits_in_every_instance() -> None:
    for n in INSTANCES:
        names = layout.instance_names(n)
        assert len(names.bridge) <= 15 and len(f"{names.veth_prefix}200") <= 15


def test_no_instance_claims_another_instances_hosts() -> None:
    # `sandbox_netns` takes a name with the prefix followed by digits only.
    for mine in INSTANCES:
        prefix = layout.instance_names(mine).host_prefix
        for other in INSTANCES:
            name = f"{layout.instance_names(other).host_prefix}1"
            claimed = name.startswith(prefix) and name[len(prefix):].isdigit()
            assert claimed == (mine == other), (mine, other)


@pytest.mark.parametrize("value", [None, "", "0", " 0 "])
def test_unset_means_instance_0(value: str | None) -> None:
    assert layout.instance_from_env(value) == 0


@pytest.mark.parametrize("value", ["x", "-1", "10", "1.5"])
def test_bad_instance_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="KDEPLOY_SANDBOX_INSTANCE"):
        layout.instance_from_env(value)
    with pytest.raises(ValueError, match="0-9"):
        layout.instance_names(10)


def _layout_in(env_value: str) -> subprocess.CompletedProcess[str]:
    code = ("from kdeploy.sandbox import layout, builder, cgroups, network;"
            "print(layout.BRIDGE, layout.DEFAULT_SUBNET, layout.host_name(2),"
            " layout.veth_name(2), cgroups.CGROUP_NAME, builder.BUILDER_RUN,"
            " layout.default_layout().root)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDEPLOY_SANDBOX_")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={**env, layout.INSTANCE_ENV: env_value})


def test_the_environment_picks_the_instance() -> None:
    result = _layout_in("1")
    assert result.stdout.split() == [
        "kdsandbox1", "10.213.8.0/24", "kd1-host2", "kd1veth2", "kdeploy-sandbox-1",
        "/run/kdeploy-sandbox-builder-1", "/var/lib/kdeploy-sandbox-1"], result.stderr


def test_a_bad_environment_stops_with_one_line() -> None:
    result = _layout_in("two")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == ("kdeploy: KDEPLOY_SANDBOX_INSTANCE='two': expected a number "
                             "from 0 to 9\n")


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list]:
    """Namespaces of this instance and of another one, with every system call recorded."""
    other = layout.instance_names((layout.NAMES.instance + 1) % (layout.MAX_INSTANCE + 1))
    netns = tmp_path / "netns"
    netns.mkdir()
    for name in (layout.host_name(1), layout.host_name(2), f"{other.host_prefix}1",
                 f"{other.host_prefix}2"):
        (netns / name).touch()
    calls: dict[str, list] = {"pids": [], "netns": [], "links": [], "cgroups": [], "rules": []}
    monkeypatch.setattr(network, "NETNS_DIR", netns)
    monkeypatch.setattr(network, "netns_pids",
                        lambda name: calls["pids"].append(name) or [4242])
    monkeypatch.setattr(network, "delete_netns", calls["netns"].append)
    monkeypatch.setattr(network, "delete_link", calls["links"].append)
    monkeypatch.setattr(network, "bridge_ports", lambda bridge: [])
    monkeypatch.setattr(network, "link_exists", lambda name: False)
    monkeypatch.setattr(teardown.cgroups, "kill_subtree",
                        lambda name=None: calls["cgroups"].append(name))
    monkeypatch.setattr(teardown.cgroups, "remove_dirs", lambda name=None: None)
    monkeypatch.setattr(teardown.builder, "stop_builder", lambda: None)
    monkeypatch.setattr(teardown.firewall, "remove_rules", calls["rules"].append)
    monkeypatch.setattr(teardown, "kill_pids", lambda pids: None)
    monkeypatch.setattr(teardown, "stop_pids", lambda pids, grace: None)
    return calls


def test_sandbox_netns_lists_only_this_instance(machine: dict[str, list]) -> None:
    assert network.sandbox_netns() == [layout.host_name(1), layout.host_name(2)]


def test_down_touches_only_this_instance(machine: dict[str, list], tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    teardown.teardown(layout.Layout(root=root, cache=tmp_path / "cache"), None, everything=True)
    mine = {layout.host_name(1), layout.host_name(2)}
    assert set(machine["pids"]) == mine and set(machine["netns"]) == mine
    assert set(machine["links"]) == {layout.veth_name(1), layout.veth_name(2), layout.BRIDGE}
    assert set(machine["cgroups"]) == {*mine, "registry", None}  # None: the instance's top
    assert machine["rules"] == [layout.BRIDGE]


def test_failed_up_removes_only_its_state_hosts(machine: dict[str, list], tmp_path: Path) -> None:
    state = SandboxState(phase="building", subnet=layout.DEFAULT_SUBNET, bridge=layout.BRIDGE,
                         registry="", key_path="", example_dir="",
                         hosts=[HostState(layout.host_name(1), "", layout.veth_name(1))])
    teardown.teardown(layout.Layout(root=tmp_path / "s", cache=tmp_path / "c"), state)
    assert set(machine["netns"]) <= {layout.host_name(1), layout.host_name(2)}
    assert layout.host_name(1) in machine["netns"]
