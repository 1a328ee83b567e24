"""`kdeploy secrets fetch|extract|print` through the real entry point, vault CLIs stood in.

Values reach stdout only where Kamal prints them by design (fetch's JSON, extract's value,
print's lines); errors are one `ERROR:` line on stderr with the exit code, never a traceback
and never a value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "config"))
from secret_stand_ins import StandIns, ok

KDEPLOY = [sys.executable, "-m", "kdeploy"]
DEPLOY_YML = """\
service: app
image: app/app
servers: [1.1.1.1]
registry: {username: u, password: p}
builder: {arch: amd64}
"""


@pytest.fixture
def cli(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path)


def kdeploy(cli: StandIns, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KDEPLOY, *args], cwd=cli.tmp, env=cli.environ(), text=True,
                          capture_output=True, check=False, timeout=60)


def lastpass(cli: StandIns, show: tuple[int, str]) -> None:
    cli.add("lpass", {("status", "--color", "never"): ok("Logged in as me@x.\n"),
                      ("show", "A", "--json"): show})


def test_fetch_prints_kamals_json(cli: StandIns) -> None:
    lastpass(cli, ok([{"fullname": "A", "password": "s3cret"}]))
    result = kdeploy(cli, "secrets", "fetch", "--adapter", "lastpass", "--account", "me@x", "A")
    assert (result.returncode, result.stdout, result.stderr) == (0, '{"A":"s3cret"}\n', "")


def test_fetch_inline_prints_what_a_secrets_file_receives(cli: StandIns) -> None:
    result = kdeploy(cli, "secrets", "fetch", "-a", "test", "--account", "x", "--inline", "a b")
    assert (result.returncode, result.stdout) == (0, '\\{\\"a\\ b\\":\\"b\\ a\\"\\}\n')


@pytest.mark.parametrize(("args", "code", "message"), [
    (["fetch", "-a", "lastpass", "--account", "me@x", "A"], 1,
     'ERROR: Could not read ["A"] from LastPass'),
    (["fetch", "-a", "1password", "--account", "me@x", "A"], 1,
     "ERROR: 1Password CLI is not installed"),
    (["fetch", "-a", "lastpass", "A"], 2,
     "ERROR: No value provided for required options '--account'"),
    (["fetch", "-a", "vault", "A"], 2, "ERROR: Unknown secrets adapter: vault"),
    (["extract", "B", '{"A":"leaked-secret"}'], 1, "ERROR: Could not find secret B"),
    (["extract", "B", "{leaked-secret"], 2,
     "ERROR: The secrets to extract from are not JSON: Expecting property name enclosed in "
     "double quotes"),
])
def test_failures_are_one_line_without_values(cli: StandIns, args: list[str], code: int,
                                              message: str) -> None:
    # The stand-in prints a "secret" and fails: nothing of it may show.
    lastpass(cli, (1, "leaked-secret\n"))
    result = kdeploy(cli, "secrets", *args)
    assert (result.returncode, result.stdout, result.stderr) == (code, "", message + "\n")


def test_fetch_needs_an_adapter(cli: StandIns) -> None:
    result = kdeploy(cli, "secrets", "fetch", "A")
    assert result.returncode == 2
    assert "Missing option '-a' / '--adapter'" in result.stderr
    assert "Traceback" not in result.stderr


def test_extract_prints_the_value(cli: StandIns) -> None:
    result = kdeploy(cli, "secrets", "extract", "B", '{"v/i/B":"two\\nlines"}')
    assert (result.returncode, result.stdout) == (0, "two\nlines\n")


def test_print_resolves_kamal_secrets_in_process(cli: StandIns) -> None:
    lastpass(cli, ok([{"fullname": "A", "password": "from-vault"}]))
    (cli.tmp / "config").mkdir()
    (cli.tmp / "config" / "deploy.yml").write_text(DEPLOY_YML)
    (cli.tmp / "config" / "deploy.staging.yml").write_text("{}\n")
    (cli.tmp / ".kamal").mkdir()
    (cli.tmp / ".kamal" / "secrets-common").write_text("COMMON=c\n")
    (cli.tmp / ".kamal" / "secrets.staging").write_text(
        "S=$(kamal secrets fetch -a lastpass --account me@x A)\n"
        "A=$(kamal secrets extract A $S)\n"
        'PEM="line1\nline2\n"\n')
    result = kdeploy(cli, "secrets", "print", "-d", "staging")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ('COMMON=c\nS=\\{\\"A\\":\\"from-vault\\"\\}\nA=from-vault\n'
                             "PEM=line1\nline2\n")


def test_print_with_a_broken_secrets_file_names_it(cli: StandIns) -> None:
    (cli.tmp / "config").mkdir()
    (cli.tmp / "config" / "deploy.yml").write_text(DEPLOY_YML)
    (cli.tmp / ".kamal").mkdir()
    (cli.tmp / ".kamal" / "secrets").write_text("OK=shown-never\nS=$(kamal secrets fetch -a x)\n")
    result = kdeploy(cli, "secrets", "print")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "ERROR: .kamal/secrets:2: S: Unknown secrets adapter: x\n"
    assert "shown-never" not in result.stderr
