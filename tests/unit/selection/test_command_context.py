"""A command's context: the selection and the performer worked out once, on first use."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import kdeploy.selection.context as context_module
from kdeploy.errors import ConfigError, UsageError
from kdeploy.selection import CommandContext, Filters, load_context

FIXTURES = Path(__file__).parents[2] / "fixtures" / "configs"


@pytest.fixture
def config():
    # Roles web (primary, two hosts) and workers (two hosts).
    return load_context(FIXTURES / "deploy_with_roles.yml", version="v1", environ={}).config


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Stand in for `git config user.email`, recording each call."""
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "dev@example.com\n", "")

    monkeypatch.setattr(context_module.subprocess, "run", run)
    return calls


def test_git_runs_once_per_context_and_only_when_asked(config, git_calls):
    context = CommandContext(config)
    assert git_calls == []
    assert (context.performer, context.performer) == ("dev@example.com", "dev@example.com")
    assert git_calls == [["git", "config", "user.email"]]


def test_a_given_performer_runs_no_git(config, git_calls):
    assert CommandContext(config, performer="ci").performer == "ci"
    assert git_calls == []


def test_the_login_name_stands_in_without_a_git_email(config, monkeypatch):
    monkeypatch.setattr(context_module.subprocess, "run", lambda argv, **kwargs: (
        subprocess.CompletedProcess(argv, 1, "", "")))
    monkeypatch.setattr(context_module.getpass, "getuser", lambda: "deployer")
    assert CommandContext(config).performer == "deployer"


def test_the_selection_is_worked_out_once(config, monkeypatch):
    calls = []
    real = context_module.select
    monkeypatch.setattr(context_module, "select", lambda *a, **k: calls.append(a) or real(*a, **k))
    context = CommandContext(config, Filters(roles="workers"))
    assert context.selection is context.selection
    assert context.selection.role_names == ("workers",)
    assert len(calls) == 1


def test_a_filter_that_matches_nothing_fails_only_when_the_selection_is_read(config):
    context = CommandContext(config, Filters(roles="nope"))  # a builder may refuse first
    with pytest.raises(UsageError, match="No --roles match for nope"):
        _ = context.selection


def test_refiltered_selects_again_and_keeps_the_rest(config, git_calls):
    context = CommandContext(config, Filters(hosts="*"), requested_version="v0")
    assert context.performer == "dev@example.com"
    other = context.refiltered(roles="workers")
    assert other.filters == Filters(roles="workers", hosts="*")
    assert other.selection.role_names == ("workers",)
    assert (other.config, other.requested_version, other.performer) == (config, "v0",
                                                                        "dev@example.com")
    assert context.selection.role_names == ("web", "workers")
    assert len(git_calls) == 1


@pytest.mark.parametrize(("filters", "given", "flags"), [
    (Filters(), False, []),
    (Filters(roles="web"), True, ["-r web"]),
    (Filters(hosts="1.1.1.*", primary=True), True, ["-h 1.1.1.*", "-p"]),
    (Filters(roles="web,workers", hosts="a", primary=True), True, ["-r web,workers", "-h a", "-p"]),
])
def test_filters_given_and_as_flags(filters, given, flags):
    assert (filters.given, filters.as_flags()) == (given, flags)


def test_load_context_keeps_the_version_asked_for_apart_from_the_one_acted_on():
    context = load_context(FIXTURES / "deploy_with_roles.yml", version="latest",
                           requested_version=None, environ={})
    assert (context.config.version, context.requested_version) == ("latest", None)


def test_load_context_fails_like_load_config(tmp_path):
    with pytest.raises(ConfigError, match="Configuration file not found"):
        load_context(tmp_path / "missing.yml")


def test_a_builder_refuses_its_own_arguments_before_the_filters_are_resolved():
    # `kdeploy build pull -r nope` with a local registry: the registry error comes first, as it
    # did when each builder called select() after its own checks.
    from kdeploy.plan.pull import build_pull_plan

    local = load_context(FIXTURES / "deploy_with_local_registry.yml", version="v1",
                         environ={}).config
    with pytest.raises(UsageError, match="cannot pull from a local registry"):
        build_pull_plan(CommandContext(local, Filters(roles="nope"), performer="ci"))
    remote = load_context(FIXTURES / "deploy_with_roles.yml", version="v1", environ={}).config
    with pytest.raises(UsageError, match="No --roles match for nope"):
        build_pull_plan(CommandContext(remote, Filters(roles="nope"), performer="ci"))
