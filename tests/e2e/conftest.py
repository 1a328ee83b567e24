"""e2e fixtures: one sandbox (3 real hosts) per test session, clean hosts per test.

The sandbox is the instance `KDEPLOY_SANDBOX_INSTANCE` names (default 0): `.ci/test.sh` runs
groups of e2e files at once, each in its own instance. Tests take names and addresses from the
`SandboxInfo` (or `kdeploy.sandbox.layout`), never literal ones.

A module whose every test wants fresh hosts says so once:

    pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]
"""

from __future__ import annotations

from collections.abc import Iterator

import helpers  # tests/e2e is on sys.path: pytest inserts a conftest dir without __init__.py
import pytest

from kdeploy import sandbox as api
from kdeploy.sandbox.layout import DEFAULT_SUBNET

SANDBOX_HOSTS = 3


def _require_machine() -> None:
    problem = helpers.machine_problem()
    if problem is None:
        return
    if helpers.in_ci():
        pytest.fail(f"CI must run the e2e tests: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[api.SandboxInfo]:
    """A running sandbox with 3 hosts, brought up once and removed at the end of the session."""
    _require_machine()
    # The subnet, bridge and host names are the instance's own (KDEPLOY_SANDBOX_INSTANCE).
    info = api.up(hosts=SANDBOX_HOSTS, subnet=DEFAULT_SUBNET)
    yield info
    api.down()


@pytest.fixture
def live_sandbox(sandbox: api.SandboxInfo) -> api.SandboxInfo:
    """The session's sandbox, rebuilt first if an earlier test broke it (a no-op otherwise)."""
    return api.up(hosts=SANDBOX_HOSTS)


@pytest.fixture
def clean_sandbox(live_sandbox: api.SandboxInfo) -> Iterator[api.SandboxInfo]:
    """Hosts without containers or deploy state before the test (use it, or autouse it)."""
    helpers.clean_hosts(live_sandbox)
    yield live_sandbox
