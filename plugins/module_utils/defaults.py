"""Kamal's defaults as kdeploy's modules fall back to them.

The host side's copy of frontend/kdeploy/config/defaults.py (a role must work on its own, without
the controller's package). tests/unit/test_defaults_agree.py keeps the two equal.
"""

from __future__ import annotations

# Seconds: Kamal's readiness_delay, deploy_timeout and drain_timeout.
READINESS_DELAY = 7
DEPLOY_TIMEOUT = 30
DRAIN_TIMEOUT = 30
# The network every app, accessory and proxy container joins.
DOCKER_NETWORK = "kamal"
# The only restart policy Kamal runs with.
RESTART_POLICY = "unless-stopped"
# The proxy's health check of a new container: path, then seconds between and per probe.
HEALTHCHECK_PATH = "/up"
HEALTHCHECK_INTERVAL = 1
HEALTHCHECK_TIMEOUT = 5
