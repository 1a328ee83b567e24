"""community.docker's client behind kdeploy's DockerClient: a daemon that is not a unix socket.

Only the container_state and accessory_boot modules take community.docker's connection
parameters (tls, certificates, api_version), so only container_prep, which they share, imports
this file. Ansible ships every module_utils file a module imports, even from inside a function:
kept apart, community.docker and requests stay out of the other modules' payloads.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_api import (
    DockerError,
    DockerNotFound,
)


class CommunityDocker(object):
    """The `remote` of a DockerClient: community.docker's API client for a module's parameters.

    Args:
        module: The AnsibleModule whose community.docker parameters reach the daemon.
    """

    def __init__(self, module):
        self.module = module
        self.tls = bool(module.params.get("tls") or module.params.get("validate_certs"))
        self._api = None

    def api(self):
        """community.docker's client, made on first use (importing it and requests is slow)."""
        if self._api is None:
            self._api = _community_client(self.module)
        return self._api

    def request(self, method, url, body, headers, timeout):
        """Send one request (url from the API root, query included); return (status, body)."""
        api = self.api()
        data = None
        if body is not None:
            data = json.dumps(body)
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        # _url("") is the versioned API root; url already carries its quoting and query.
        send = getattr(api, "_" + method.lower())
        response = send(api._url("") + url, data=data, headers=headers, timeout=timeout)
        return response.status_code, response.content

    def get_json(self, pathfmt, *args, **kwargs):
        """community.docker's get_json, its errors as DockerNotFound and DockerError."""
        from ansible_collections.community.docker.plugins.module_utils._api.errors import (
            DockerException,
            NotFound,
        )

        try:
            return self.api().get_json(pathfmt, *args, **kwargs)
        except NotFound as exc:
            raise DockerNotFound(pathfmt, 404) from exc
        except DockerException as exc:
            raise DockerError(to_native(exc)) from exc


def _community_client(module):
    """community.docker's client, reporting through module (fail_json, deprecate, params)."""
    from ansible_collections.community.docker.plugins.module_utils.common_api import (
        AnsibleDockerClientBase,
    )

    class Client(AnsibleDockerClientBase):
        def fail(self, msg, **kwargs):
            module.fail_json(msg=msg, **kwargs)

        def deprecate(self, msg, version=None, date=None, collection_name=None):
            module.deprecate(msg, version=version, date=date, collection_name=collection_name)

        def _get_params(self):
            return module.params

    return Client()
