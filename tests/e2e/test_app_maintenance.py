"""`app maintenance` and `app live` on the sandbox, with both proxy engines (issue 16).

kamal-proxy: Kamal 2.11.0 and kdeploy run the same steps on clean hosts (deploy, maintenance with
and without options, live); the stand-in kamal-proxy records every call, and the calls must be
the same. caddy (real): during maintenance each web host's proxy answers 503 with the message, a
deploy in between keeps it so, and `live` brings the app back.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import pytest
from project import Project, address, app_container, example_config
from test_kamal_proxy_parity import SERVICE, WEB, _calls
from test_proxy_zero_downtime import app_names, proxy_project_config

from kdeploy.sandbox import SandboxInfo

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

MESSAGE = """Back at 5 o'clock, "promise" ($HOME stays literal) <b>&</b>"""


def _kamal_proxy_steps(info: SandboxInfo, project: Project,
                       tool: str) -> dict[int, list[list[str]]]:
    run = getattr(project, tool)
    for args in (("deploy", "-P"), ("app", "maintenance", "--drain-timeout", "5",
                                    "--message", MESSAGE),
                 ("app", "maintenance"), ("app", "live")):
        result = run(*args, "--version", "v1")
        assert result.returncode == 0, (tool, args, result)
    return {index: _calls(info, index) for index in WEB}


def test_kamal_proxy_gets_kamals_stop_and_resume(clean_sandbox: SandboxInfo,
                                                 tmp_path: Path) -> None:
    info = clean_sandbox
    config = example_config(info)
    config.pop("accessories")
    config["servers"]["web"] = {"hosts": [address(info, index) for index in WEB]}
    config["proxy"] = {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1}}
    project = Project.write(tmp_path, config)
    kamal = _kamal_proxy_steps(info, project, "kamal")
    helpers.clean_hosts(info)
    ours = _kamal_proxy_steps(info, project, "kdeploy")
    assert ours == kamal
    # Kamal's argv, stated once more: the escaping reaches kamal-proxy as typed.
    assert kamal[1][-3:] == [
        ["stop", SERVICE, "--drain-timeout=5s", f"--message={MESSAGE}"],
        ["stop", SERVICE, "--drain-timeout=30s"],
        ["resume", SERVICE],
    ]


def _status(info: SandboxInfo, index: int) -> tuple[int, str]:
    return helpers.http_get(address(info, index), path="/version")


def test_caddy_answers_503_with_the_message_until_live(clean_sandbox: SandboxInfo,
                                                       tmp_path: Path) -> None:
    info = clean_sandbox
    project = Project.write(tmp_path, proxy_project_config(info))
    run = project.kdeploy("setup", "-P", "--version", "v1")
    assert run.returncode == 0, run
    assert [helpers.wait_http(address(info, index), path="/version") for index in WEB] == [
        (200, "v1\n")] * len(WEB)

    for _ in range(2):  # the second run finds the routes in maintenance already
        run = project.kdeploy("app", "maintenance", "--message", MESSAGE, "--version", "v1")
        assert run.returncode == 0, run
        for index in WEB:
            status, body = _status(info, index)
            assert status == 503, (index, status, body)
            assert ("<p>Back at 5 o&#39;clock, &#34;promise&#34; ($HOME stays literal) "
                    "&lt;b&gt;&amp;&lt;/b&gt;</p>") in body

    # A deploy in maintenance boots v2 behind the 503, as kamal-proxy keeps a stopped service.
    run = project.kdeploy("deploy", "-P", "--version", "v2")
    assert run.returncode == 0, run
    for index in WEB:
        assert app_names(info, index) == [app_container("web", "v2")]
        assert _status(info, index)[0] == 503

    for _ in range(2):
        run = project.kdeploy("app", "live", "--version", "v2")
        assert run.returncode == 0, run
        assert [_status(info, index) for index in WEB] == [(200, "v2\n")] * len(WEB)

    # Without --message: kamal-proxy's own text.
    run = project.kdeploy("app", "maintenance", "-h", address(info, 1), "--version", "v2")
    assert run.returncode == 0, run
    status, body = _status(info, 1)
    assert status == 503 and "The service is temporarily unavailable." in body
    assert _status(info, 2) == (200, "v2\n")
