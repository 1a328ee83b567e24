"""User strings are data: Jinja thrown at every value source reaches the hosts as literal text.

Each source gets the same payloads (`{{ }}`, a balanced and an unbalanced `{% raw %}`, `{# #}`,
and a `lookup('pipe', …)` that would create a marker file on this machine): clear env of a role
and of an accessory, a secret, an ERB `ENV[…]` in deploy.yml, CLI flags (the lock message, the
exec commands) and git's user.email (the performer). The deploy and the commands must work, the
text must arrive unchanged in the containers, the env file, the lock details, the audit log and
the hook playbook's variables, and no marker file may ever appear.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import helpers
import pytest
from project import (
    SECRETS,
    Project,
    Run,
    accessory_container,
    address,
    app_container,
    audit_lines,
    example_config,
)

from kdeploy.sandbox import SandboxInfo
from kdeploy.sandbox.example import SERVICE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_sandbox")]

SOURCES = ("role_env", "accessory_env", "secret", "erb", "lock_message", "performer",
           "server_exec", "app_exec")
LOCK_DETAILS = f"/root/.kamal/lock-{SERVICE}/details"
WEB_ENV_FILE = f"/root/.kamal/apps/{SERVICE}/env/roles/web.env"
HOOK_SEEN = "/root/.kamal/hook-seen"  # ~/.kamal is removed before each test
# Records, while the automatic lock is held, what the hook playbook's variables hold.
HOOK_PLAYBOOK = f"""\
- name: Record what a hook playbook sees
  hosts: "{{{{ kdeploy_lock_host }}}}"
  gather_facts: false
  tasks:
    - name: Record the variables.
      ansible.builtin.copy:
        dest: {HOOK_SEEN}.json
        content: "{{{{ {{'performer': kdeploy_performer,
                      'env': kdeploy_app_env['web']['clear']}} | to_json }}}}"
        mode: "0600"
    - name: Record the held lock's details.
      ansible.builtin.shell: base64 -d {LOCK_DETAILS} > {HOOK_SEEN}.lock
      changed_when: true
"""


def payloads(marker: Path) -> tuple[str, ...]:
    """What each source gets: Jinja that renders, breaks, hides, or runs a command here."""
    return ("{{ 7*7 }}", "{% raw %}x{% endraw %}", "{% raw %}", "{# c #}",
            f"{{{{ lookup('pipe', 'touch {marker}') }}}}")


def combined(marker: Path) -> str:
    """All payloads in one string, for the sources that take one value."""
    return " ".join(payloads(marker))


def performer(marker: Path) -> str:
    """git's user.email: the payloads, and a backslash that a shell's `echo` would eat."""
    return combined(marker) + " tab\\there"


def markers(tmp_path: Path) -> dict[str, Path]:
    return {source: tmp_path / f"pwned-{source}" for source in SOURCES}


def user_strings_project(info: SandboxInfo, tmp_path: Path) -> tuple[Project, dict[str, str]]:
    """The sandbox example with payloads in its env, secrets, ERB, hook and git user.email/name.

    Returns the project and the environment (the ERB's variables) to run kdeploy with.
    """
    marks = markers(tmp_path)
    directory = tmp_path / "app"
    config = example_config(info)
    web = config["servers"]["web"]
    web["env"] = {
        "clear": {**{f"ROLE_{i}": value for i, value in enumerate(payloads(marks["role_env"]))},
                  # Placeholders, replaced below by ERB that YAML keeps as a string.
                  **{f"ERB_{i}": f"__ERB_{i}__" for i in range(len(payloads(marks["erb"])))}},
        "secret": [f"SECRET_{i}" for i in range(len(payloads(marks["secret"])))],
    }
    config["accessories"]["db"]["env"] = {
        "clear": {f"ACC_{i}": value for i, value in enumerate(payloads(marks["accessory_env"]))}}
    config["x-kdeploy"] = {"hooks": {"post-deploy": ["hooks/record.yml"]}}
    # Double quotes: dotenv keeps `#` and `'` inside them literally.
    secrets = {f"SECRET_{i}": f'"{value}"' for i, value in enumerate(payloads(marks["secret"]))}
    project = Project.write(directory, config, SECRETS | secrets)
    text = project.config_file.read_text()
    for i in range(len(payloads(marks["erb"]))):
        text = text.replace(f"__ERB_{i}__", f"\"<%= ENV['KD_USER_STRING_{i}'] %>\"")
    project.config_file.write_text(text)
    (directory / "hooks").mkdir()
    (directory / "hooks" / "record.yml").write_text(HOOK_PLAYBOOK)
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    # user.email names the performer (audit log, hooks), user.name the lock's `Locked by:`.
    for key in ("user.email", "user.name"):
        subprocess.run(["git", "-C", str(directory), "config", key,
                        performer(marks["performer"])], check=True)
    environ = {f"KD_USER_STRING_{i}": value for i, value in enumerate(payloads(marks["erb"]))}
    return project, environ


def kdeploy(project: Project, environ: dict[str, str], *args: str) -> Run:
    run = project.run([sys.executable, "-m", "kdeploy", *args], env={**os.environ, **environ})
    assert run.returncode == 0, run
    assert "Traceback" not in run.output, run
    return run


def container_env(info: SandboxInfo, index: int, name: str) -> dict[str, str]:
    out = helpers.ssh(info, index, f"docker inspect --format '{{{{json .Config.Env}}}}' {name}")
    return dict(entry.split("=", 1) for entry in json.loads(out.stdout))


def host_file(info: SandboxInfo, index: int, path: str) -> str:
    return helpers.ssh(info, index, f"cat {path}").stdout


def expected_env(prefix: str, values: tuple[str, ...]) -> dict[str, str]:
    return {f"{prefix}_{i}": value for i, value in enumerate(values)}


def test_user_strings_reach_the_hosts_as_literal_text(clean_sandbox: SandboxInfo,
                                                      tmp_path: Path) -> None:
    info = clean_sandbox
    marks = markers(tmp_path)
    project, environ = user_strings_project(info, tmp_path)
    who = performer(marks["performer"])

    kdeploy(project, environ, "setup", "-P", "--version", "v1")

    role_env = (expected_env("ROLE", payloads(marks["role_env"]))
                | expected_env("ERB", payloads(marks["erb"]))
                | expected_env("SECRET", payloads(marks["secret"])))
    for index in (1, 2):
        env = container_env(info, index, app_container("web"))
        assert {key: env.get(key) for key in role_env} == role_env, (index, env)
    env_file = host_file(info, 1, WEB_ENV_FILE).splitlines()
    assert env_file == [f"{key}={value}" for key, value
                        in expected_env("SECRET", payloads(marks["secret"])).items()]
    accessory_env = expected_env("ACC", payloads(marks["accessory_env"]))
    env = container_env(info, 1, accessory_container("db"))
    assert {key: env.get(key) for key in accessory_env} == accessory_env, env

    # The performer tags every audit line: the app's boot (module kdeploy.deploy.release) and the
    # accessory's (the audit role's shell line).
    tagged = re.compile(r"^\[[0-9TZ:-]+\] \[" + re.escape(who) + r"\] ")
    lines = audit_lines(info, 1)
    assert any(line.endswith("Booted app version v1") for line in lines), lines
    assert any(line.endswith("Booted db accessory") for line in lines), lines
    assert all(tagged.match(line) for line in lines), lines

    # The hook playbook ran under the automatic lock, and its variables are the literal text.
    seen = json.loads(host_file(info, 1, f"{HOOK_SEEN}.json"))
    assert seen["performer"] == who
    assert {key: seen["env"].get(key) for key in role_env if not key.startswith("SECRET")} == {
        key: value for key, value in role_env.items() if not key.startswith("SECRET")}
    held = host_file(info, 1, f"{HOOK_SEEN}.lock").splitlines()
    assert held[0].startswith(f"Locked by: {who} at "), held
    assert held[2] == f"Message: Automatic deploy lock ({who})", held

    # A CLI flag: the lock message, stored base64 in the details as Kamal does.
    message = combined(marks["lock_message"])
    kdeploy(project, environ, "lock", "acquire", "-m", message, "--version", "v1")
    details = base64.b64decode(host_file(info, 1, LOCK_DETAILS)).decode().splitlines()
    assert details[0].startswith(f"Locked by: {who} at "), details
    assert details[1:] == ["Version: v1", f"Message: {message}"], details
    status = kdeploy(project, environ, "lock", "status", "-q")
    assert f"Message: {message}" in status.stdout.splitlines(), status
    kdeploy(project, environ, "lock", "release", "-q")

    # CLI commands: run on the hosts as typed, and audited as typed.
    command = f'echo "{combined(marks["server_exec"])}"'
    run = kdeploy(project, environ, "server", "exec", "-h", address(info, 3), command)
    assert f"App Host: {address(info, 3)}\n{combined(marks['server_exec'])}\n" in run.stdout
    assert audit_lines(info, 3)[-1].endswith(f"Executed cmd '{command}' on {address(info, 3)}")
    command = f'echo "{combined(marks["app_exec"])}"'
    run = kdeploy(project, environ, "app", "exec", "--reuse", "-r", "job", "-q", command)
    assert run.stdout.strip() == combined(marks["app_exec"]), run
    assert audit_lines(info, 3)[-1].endswith(f"Executed cmd '{command}' on app version v1")

    created = [str(path) for path in marks.values() if path.exists()]
    assert created == [], f"a lookup('pipe') ran on this machine: {created}"
