"""Kamal's defaults that kdeploy writes more than once, named here once.

The Python side reads these names. The host side cannot (role defaults, argument_specs.yml and
the modules' DOCUMENTATION are literals, and each role must work on its own), so its copies are
pinned to these values by tests/unit/test_defaults_agree.py.
"""

from __future__ import annotations

# Seconds: Kamal's readiness_delay, deploy_timeout and drain_timeout.
READINESS_DELAY = 7
DEPLOY_TIMEOUT = 30
DRAIN_TIMEOUT = 30
# Stopped containers kept for rollbacks (Kamal's retain_containers).
RETAIN_CONTAINERS = 5
# sshkit's max_concurrent_starts: how many hosts are started at once (Ansible's forks).
MAX_CONCURRENT_STARTS = 30
# The network every app, accessory and proxy container joins.
DOCKER_NETWORK = "kamal"
# The only restart policy Kamal runs with.
RESTART_POLICY = "unless-stopped"
# The proxy's health check of a new container: path, then seconds between and per probe.
HEALTHCHECK_PATH = "/up"
HEALTHCHECK_INTERVAL = 1
HEALTHCHECK_TIMEOUT = 5
# Seconds: Kamal 2.12's --lock-wait-timeout and --lock-wait-interval (Python side only).
LOCK_WAIT_TIMEOUT = 900
LOCK_WAIT_INTERVAL = 15
