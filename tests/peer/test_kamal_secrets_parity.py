"""`kamal secrets fetch --adapter test|extract|print` (Kamal 2.11.0) and kdeploy's, byte for byte.

Only the `test` adapter runs without a vault, so it carries fetch's JSON (escapes, non-ASCII,
option spellings); extract and print are compared on the same inputs. Where both fail, the
messages agree (Kamal prints `ERROR (RuntimeError): ...` on stdout, kdeploy `ERROR: ...` on
stderr).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from peer_support import KDEPLOY, require_kamal

FETCH = [
    ["fetch", "-a", "test", "--account", "x", "A", "B C", 'é"\\', "LPARENxRPAREN", "\x1f",
     "x\ny", "€😀"],
    ["fetch", "--adapter", "test", "--account", "x", "--from", "p q", "a", "b"],
    ["fetch", "-a", "test", "--account=x", "-a=test", "b"],
    ["fetch", "-a", "test", "--account", "x"],
    ["fetch", "a", "--account", "x", "--adapter", "test"],
    ["fetch", "-a", "Test", "--account", "x", "A"],
]
EXTRACT = [
    ["extract", "b", '{"x/b":"1","b":"2"}'],
    ["extract", "b", '{"x/b":"1","y/b":"3"}'],
    ["extract", "b", '{"b":false,"x/b":"4"}'],
    ["extract", "n", '{"n":12}'],
    ["extract", "t", '{"t":true}'],
    ["extract", "m", '{"m":"two\\nlines\\n"}'],
    ["extract", "é", '{"é":"ü"}'],
]
FAILING = [
    ["fetch", "-a", "vault", "--account", "x", "A"],
    ["fetch", "-a", "TEST", "--account", "x", "A"],
    ["extract", "c", '{"x/b":"1"}'],
]
DEPLOY_YML = """\
service: app
image: app/app
servers: [1.1.1.1]
registry: {username: u, password: p}
builder: {arch: amd64}
"""
SECRETS = {
    ".kamal/secrets-common": "COMMON=c\n",
    ".kamal/secrets.staging": (
        'S=$(kamal secrets fetch -a test --account x --from vault A "B C")\n'
        "A=$(kamal secrets extract A $S)\n"
        'BC=$(kamal secrets extract "B C" ${S})\n'
        "P=$(kamal secrets extract vault/A $S)\n"
        'PEM="one\ntwo\n"\n'),
}


@pytest.fixture(scope="module")
def kamal() -> str:
    return require_kamal()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("secrets_project")
    for name, text in {"config/deploy.yml": DEPLOY_YML, "config/deploy.staging.yml": "{}\n",
                       **SECRETS}.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return base


def both(kamal: str, args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[bytes], ...]:
    env = {**os.environ, "LANG": "C.UTF-8"}
    return tuple(subprocess.run([*program, "secrets", *args], cwd=cwd, env=env,
                                capture_output=True, timeout=120, check=False)
                 for program in ([kamal], KDEPLOY))


@pytest.mark.parametrize("args", FETCH + EXTRACT, ids=lambda a: " ".join(a)[:40])
def test_same_output(kamal: str, args: list[str], tmp_path: Path) -> None:
    theirs, ours = both(kamal, args, tmp_path)
    assert theirs.returncode == 0, theirs.stdout
    assert (ours.returncode, ours.stdout) == (0, theirs.stdout), ours.stderr


@pytest.mark.parametrize("args", FAILING, ids=lambda a: " ".join(a)[:40])
def test_same_failure(kamal: str, args: list[str], tmp_path: Path) -> None:
    theirs, ours = both(kamal, args, tmp_path)
    message = re.sub(rb"\x1b\[[0-9;]*m", b"", theirs.stdout).strip()
    assert theirs.returncode == 1
    assert ours.returncode != 0 and ours.stdout == b""
    assert re.sub(rb"^ERROR \([\w:]+\): ", b"", message) == ours.stderr.strip()[len(b"ERROR: "):]


def test_print_with_inline_fetch_and_extract(kamal: str, project: Path) -> None:
    theirs, ours = both(kamal, ["print", "-d", "staging"], project)
    assert theirs.returncode == 0, theirs.stdout
    assert (ours.returncode, ours.stdout) == (0, theirs.stdout), ours.stderr
