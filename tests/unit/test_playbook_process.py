from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import ansible
import yaml

from kdeploy.run.playbook_process import CACHE_ENV, cache_directory, kept_metadata
from kdeploy.run.secret_pipe import FIFO_ENV, SecretPipe, ansible_playbook_path

BUILTIN_RUNTIME = Path(ansible.__file__).parent / "config" / "ansible_builtin_runtime.yml"


class CountingParser:
    def __init__(self, result: object) -> None:
        self.result = result
        self.calls: list[tuple[object, object]] = []

    def __call__(self, data: object, content_id: object) -> object:
        self.calls.append((data, content_id))
        return self.result


def test_a_parsed_text_is_kept_and_read_back_without_parsing(tmp_path: Path) -> None:
    parse = CountingParser({"plugin_routing": {"modules": {"old": {"redirect": "new.one"}}}})
    load = kept_metadata(parse, tmp_path)
    first = load(b"plugin_routing: {}", ("ansible.builtin", "runtime.yml"))
    second = load(b"plugin_routing: {}", ("ansible.builtin", "runtime.yml"))
    assert first == second == parse.result
    assert len(parse.calls) == 1
    digest = hashlib.sha256(b"plugin_routing: {}").hexdigest()
    entry = tmp_path / f"ansible.builtin@{digest}.json"
    assert json.loads(entry.read_text()) == parse.result


def test_another_text_is_parsed_again_and_replaces_the_collections_entry(
        tmp_path: Path) -> None:
    parse = CountingParser({"requires_ansible": ">=2.16"})
    load = kept_metadata(parse, tmp_path)
    load("requires_ansible: '>=2.16'", ("a.b", "runtime.yml"))
    load("requires_ansible: '>=2.16'", ("c.d", "runtime.yml"))
    load("requires_ansible: '>=2.17'", ("a.b", "runtime.yml"))
    assert len(parse.calls) == 3
    newer = hashlib.sha256(b"requires_ansible: '>=2.17'").hexdigest()
    older = hashlib.sha256(b"requires_ansible: '>=2.16'").hexdigest()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"a.b@{newer}.json", f"c.d@{older}.json"]


def test_a_result_json_cannot_give_back_is_never_kept(tmp_path: Path) -> None:
    # A tuple comes back from JSON as a list: kept, it would be a different value.
    parse = CountingParser({"action_groups": ("a", "b")})
    load = kept_metadata(parse, tmp_path)
    load(b"x", ("a.b", "runtime.yml"))
    load(b"x", ("a.b", "runtime.yml"))
    assert len(parse.calls) == 2
    assert not list(tmp_path.iterdir())


def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    parse = CountingParser({"plugin_routing": {}})
    (tmp_path / f"a.b@{hashlib.sha256(b'y').hexdigest()}.json").write_text('{"plugin_rou')
    load = kept_metadata(parse, tmp_path)
    assert load(b"y", ("a.b", "runtime.yml")) == {"plugin_routing": {}}
    assert load(b"y", ("a.b", "runtime.yml")) == {"plugin_routing": {}}
    assert len(parse.calls) == 1


def test_a_parse_error_is_the_parsers_and_nothing_is_kept(tmp_path: Path) -> None:
    def refuse(data: object, content_id: object) -> object:
        raise ValueError("collection metadata must be an instance of Python Mapping")

    load = kept_metadata(refuse, tmp_path)
    try:
        load(b"- a list", ("a.b", "runtime.yml"))
    except ValueError as error:
        assert "Mapping" in str(error)
    else:
        raise AssertionError("the parser's error was swallowed")
    assert not list(tmp_path.iterdir())


def test_the_store_is_made_private_and_can_be_turned_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    made = cache_directory(None)
    assert made == tmp_path / "xdg" / "kdeploy" / "metadata"
    assert made.stat().st_mode & 0o777 == 0o700
    assert cache_directory("") is None
    assert cache_directory(str(tmp_path / "set")) == tmp_path / "set"


def test_a_store_others_may_write_to_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert cache_directory(str(shared)) is None
    (tmp_path / "file").write_text("")
    assert cache_directory(str(tmp_path / "file" / "below")) is None


def _launch(tmp_path: Path, playbook: Path, cache: str) -> subprocess.CompletedProcess[str]:
    with SecretPipe(tmp_path, {"KDEPLOY_PROBE": "from the pipe"}) as pipe:
        env = {**os.environ, FIFO_ENV: str(pipe.fifo), CACHE_ENV: cache,
               "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1"}
        return subprocess.run(
            [str(pipe.launcher), str(playbook), "-i", "localhost,", "-c", "local"],
            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_the_launcher_runs_this_pythons_ansible_playbook_with_the_kept_metadata(
        tmp_path: Path) -> None:
    assert Path(ansible_playbook_path()).parent == Path(sys.executable).parent
    cache = tmp_path / "cache"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"{{ lookup('ansible.builtin.env', 'KDEPLOY_PROBE') }}\"\n")
    first = _launch(tmp_path, playbook, str(cache))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "from the pipe" in first.stdout
    # Ansible's exit steps ran before the quick exit: its temporary directory is gone.
    assert (tmp_path / "tmp").is_dir()
    assert not list((tmp_path / "tmp").glob("ansible-local-*"))
    runtime = BUILTIN_RUNTIME.read_bytes()
    entry = cache / f"ansible.builtin@{hashlib.sha256(runtime).hexdigest()}.json"
    assert json.loads(entry.read_text()) == yaml.load(runtime, Loader=yaml.CBaseLoader)

    # The next run reads the entry, not the YAML: a route only the entry holds is followed.
    routing = json.loads(entry.read_text())
    for kind in ("modules", "action"):
        routing["plugin_routing"].setdefault(kind, {})["kdeploy_probe"] = {
            "redirect": "ansible.builtin.debug"}
    entry.write_text(json.dumps(routing))
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.kdeploy_probe:\n        msg: routed by the kept entry\n")
    second = _launch(tmp_path, playbook, str(cache))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "routed by the kept entry" in second.stdout


def test_without_a_store_the_launcher_parses_as_ansible_does(tmp_path: Path) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.kdeploy_probe:\n        msg: never\n")
    ran = _launch(tmp_path, playbook, "")
    assert ran.returncode == 4  # ansible-playbook's own code for a play that cannot be parsed
    assert "kdeploy_probe" in ran.stdout + ran.stderr
    assert not [path for path in tmp_path.rglob("*.json") if path.parent.name != "tmp"]
