from __future__ import annotations

from typing import Any

import pytest

from kdeploy.errors import ConfigError
from kdeploy.host_contract.docker_options import translate_options


@pytest.mark.parametrize(("options", "expected"), [
    ({}, {}),
    ({"memory": "1g"}, {"memory": "1g"}),
    ({"cpus": 2}, {"cpus": 2.0}),
    ({"cap-add": "NET_ADMIN"}, {"capabilities": ["NET_ADMIN"]}),
    ({"cap-add": ["NET_ADMIN", "SYS_TIME"]}, {"capabilities": ["NET_ADMIN", "SYS_TIME"]}),
    ({"add-host": ["db:10.0.0.5", "cache:10.0.0.6"]},
     {"etc_hosts": {"db": "10.0.0.5", "cache": "10.0.0.6"}}),
    ({"sysctl": "net.core.somaxconn=1024"}, {"sysctls": {"net.core.somaxconn": "1024"}}),
    ({"init": True, "privileged": "true"}, {"init": True, "privileged": True}),
    ({"health-cmd": "curl -f localhost/up", "health-retries": "3", "health-interval": "5s"},
     {"healthcheck": {"test": ["CMD-SHELL", "curl -f localhost/up"], "retries": 3,
                      "interval": "5s"}}),
])
def test_docker_run_flags_become_docker_container_options(
    options: dict[str, Any], expected: dict[str, Any],
) -> None:
    assert translate_options(options, "servers/web/options") == expected


def test_an_untranslatable_flag_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"^servers/web/options/mount: "):
        translate_options({"mount": "type=tmpfs,dst=/x"}, "servers/web/options")
