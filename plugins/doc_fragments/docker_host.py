# MIT License (kdeploy)
"""The `docker_host` option of the modules that talk to the host's dockerd over its socket."""

from __future__ import annotations


class ModuleDocFragment:
    """Documentation of `docker_host`, shared through `extends_documentation_fragment`."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description: The Docker daemon, a C(unix://) socket.
    type: str
    default: unix:///var/run/docker.sock
"""
