"""The warm-up's interpreter discovery against Ansible's own (run/interpreter_facts.py).

Ansible's `discover_interpreter` is the oracle: it runs with an action whose only connection is a
recorder, so the command it would send and the Python it would choose come from the installed
ansible-core itself. A kept entry is read back through Ansible's VariableManager and its jsonfile
cache plugin, as ansible-playbook reads it.
"""

from __future__ import annotations

import functools
import shlex
import warnings
from pathlib import Path
from typing import Any

import pytest
from ansible.executor import interpreter_discovery
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.vars.manager import VariableManager

from kdeploy.run.interpreter_facts import (
    DISCOVERY_COMMAND,
    FACT,
    PYTHON_FALLBACK,
    fact_cache_envvars,
    interpreter_from,
    keep_interpreter,
)

HOST = "10.0.3.1"


class RecordingAction:
    """What discover_interpreter needs of an action: a command runner, here one that records."""

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.commands: list[str] = []

    def _low_level_execute_command(self, command: str, sudoable: bool = True) -> dict[str, Any]:
        self.commands.append(command)
        return {"rc": 0, "stdout": self.stdout, "stderr": ""}


def _ansibles_choice(stdout: str) -> tuple[str, list[str]]:
    action = RecordingAction(stdout)
    chosen = interpreter_discovery.discover_interpreter(
        action=action, interpreter_name="python", discovery_mode="auto_silent",
        task_vars={"inventory_hostname": HOST})
    return chosen, action.commands


def test_ansible_says_when_it_discovers_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/e2e/test_deploy_lifecycle.py looks for this -vvv line to see that it never does.
    said: list[str] = []
    monkeypatch.setattr(interpreter_discovery.display, "vvv",
                        lambda msg, host=None: said.append(f"<{host}> {msg}"))
    _ansibles_choice("FOUND\n/usr/bin/python3\nENDFOUND\n")
    assert f"<{HOST}> Attempting python interpreter discovery." in said


def test_the_fallback_list_is_ansibles() -> None:
    from ansible import constants

    definition = constants.config.get_configuration_definition("INTERPRETER_PYTHON_FALLBACK")
    assert tuple(definition["default"]) == PYTHON_FALLBACK


def test_the_warm_up_sends_ansibles_discovery_command_under_its_shell() -> None:
    _, commands = _ansibles_choice("FOUND\n/usr/bin/python3\nENDFOUND\n")
    # Ansible's ssh connection runs a low-level command as `/bin/sh -c '<command>'`.
    assert f"/bin/sh -c {shlex.quote(commands[0])}" == DISCOVERY_COMMAND


@pytest.mark.parametrize("stdout", [
    "FOUND\n/usr/bin/python3.12\n/usr/bin/python3\n/usr/bin/python3\nENDFOUND\n",
    "FOUND\n/usr/local/bin/python3.13\n/usr/bin/python3.11\nENDFOUND\n",
    "FOUND\n/opt/python with space/bin/python3 \nENDFOUND\n",
    "FOUND\npython3: not found\nENDFOUND\n",  # no line names a path: Ansible's own default
    "FOUND\nENDFOUND\n",
], ids=["first-of-several", "newest-first", "stripped", "junk-lines", "none"])
def test_the_python_chosen_is_the_one_ansible_chooses(stdout: str) -> None:
    chosen, _ = _ansibles_choice(stdout)
    assert interpreter_from(stdout) == chosen


@pytest.mark.parametrize("stdout", ["", "FOUND\n/usr/bin/python3.11\n", "Permission denied\n"],
                         ids=["nothing", "cut-short", "no-listing"])
def test_an_output_that_is_no_listing_keeps_nothing(stdout: str) -> None:
    # Ansible would warn and take /usr/bin/python3; the warm-up leaves the host to Ansible.
    assert interpreter_from(stdout) is None


@functools.cache
def _plugin_loader() -> None:
    # Other test modules of the same session may have set Ansible's collection finder up
    # already; a second set-up only warns that it was.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "AnsibleCollectionFinder has already been configured")
        init_plugin_loader()


def _facts_as_ansible_reads_them(directory: Path, monkeypatch: pytest.MonkeyPatch,
                                 host: str = HOST) -> dict[str, Any]:
    for name, value in fact_cache_envvars(directory).items():
        monkeypatch.setenv(name, value)
    from ansible import constants

    for setting in ("CACHE_PLUGIN", "CACHE_PLUGIN_CONNECTION", "CACHE_PLUGIN_TIMEOUT"):
        monkeypatch.setattr(constants, setting, constants.config.get_config_value(setting))
    _plugin_loader()
    loader = DataLoader()
    inventory = InventoryManager(loader, sources=f"{host},")
    variables = VariableManager(loader, inventory).get_vars(host=inventory.get_host(host))
    return variables.get("ansible_facts", {})


def test_a_kept_python_is_the_fact_ansible_reads(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    keep_interpreter(tmp_path, HOST, "/usr/bin/python3.11")
    assert _facts_as_ansible_reads_them(tmp_path, monkeypatch) == {FACT: "/usr/bin/python3.11"}
    assert [path.name for path in tmp_path.iterdir()] == [f"s1_{HOST}"]  # no temporary left


def test_without_an_entry_ansible_has_no_fact(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The control for the test above: the fact comes from the entry, not from elsewhere.
    assert FACT not in _facts_as_ansible_reads_them(tmp_path, monkeypatch)


def test_a_python_path_from_a_host_is_never_templated(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    keep_interpreter(tmp_path, HOST, "/usr/bin/{{ lookup('env', 'HOME') }}")
    facts = _facts_as_ansible_reads_them(tmp_path, monkeypatch)
    from ansible.template import Templar

    templar = Templar(loader=DataLoader(), variables={})
    assert templar.template(facts[FACT]) == "/usr/bin/{{ lookup('env', 'HOME') }}"


@pytest.mark.parametrize("host", ["../escape", "a/b", "", ".."])
def test_a_host_name_that_is_no_file_name_keeps_nothing(tmp_path: Path, host: str) -> None:
    directory = tmp_path / "facts"
    directory.mkdir()
    keep_interpreter(directory, host, "/usr/bin/python3")
    assert list(tmp_path.rglob("*")) == [directory]
