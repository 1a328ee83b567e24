"""`$(kamal secrets ...)` in a secrets file, run in-process (no kamal on PATH); the path default.

Kamal's inline_command_substitution.rb runs `kamal secrets ...` through its own CLI with
`--inline`: fetch's JSON comes back shell-escaped, so `$SECRETS` on a later line splits back into
one word. Anything else runs in `/bin/sh` as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from secret_stand_ins import FAIL, StandIns, ok

from kdeploy.config import load_config
from kdeploy.config.secret_adapters.inline import is_secrets_command, run_inline
from kdeploy.config.secrets import Secrets
from kdeploy.errors import ConfigError, KdeployError

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


@pytest.mark.parametrize(("command", "inline"), [
    ("kamal secrets fetch -a test", True),
    ("  kamal   secrets\textract A B", True),
    ("kamalsecrets fetch", True),  # Kamal's `kamal\s*secrets`
    ("kdeploy secrets fetch", True),
    ("kamal secrets", False),  # `secrets\s+`: nothing after it
    ("kamal secret fetch", False),
    ("echo kamal secrets fetch", False),
    ("/usr/bin/kamal secrets fetch", False),
])
def test_which_commands_run_in_process(command: str, inline: bool) -> None:
    assert is_secrets_command(command) is inline


@pytest.mark.parametrize("command", [
    'kamal secrets fetch -a test --account x A "B C"',
    'kamal secrets fetch --adapter=test --account=x A "B C"',
    'kamal secrets fetch A --adapter test "B C" --account x',
    'kamal secrets fetch -d staging -v -a test --account x --inline A "B C"',
    'kdeploy secrets fetch -a=test --account x -- A "B C"',
])
def test_fetch_options_are_parsed_as_thor_does(cli: StandIns, command: str) -> None:
    assert run_inline(command, cli.runner()) == '\\{\\"A\\":\\"A\\",\\"B\\ C\\":\\"C\\ B\\"\\}'


@pytest.mark.parametrize(("command", "message"), [
    ("kamal secrets fetch --account x A", "No value provided for required options '--adapter'"),
    ("kamal secrets fetch -a test A", "No value provided for required options '--account'"),
    ("kamal secrets fetch -a test --account", "No value provided for option '--account'"),
    ("kamal secrets fetch -a vault --account x A", "Unknown secrets adapter: vault"),
    ("kamal secrets fetch -a test --account x --bogus",
     "An unknown option was given (known: --account, --adapter, --from)"),
    ("kamal secrets extract A -s3cr3t", "An unknown option was given (known: none)"),
    ("kamal secrets extract A", "`secrets extract` takes NAME and SECRETS, not 1 argument"),
    ("kamal secrets extract C '{\"A\":\"1\"}'", "Could not find secret C"),
    ("kamal secrets print", "`secrets print` cannot run inside a secrets file"),
    ("kamal secrets list", 'Could not find command "list" in "secrets" namespace.'),
    ("kamal secrets extract A 'open", "Unmatched quote at 24"),
])
def test_bad_commands_fail_with_one_message(cli: StandIns, command: str, message: str) -> None:
    with pytest.raises(KdeployError) as error:
        run_inline(command, cli.runner())
    assert error.value.message == message


SECRETS_FILE = """\
SECRETS=$(kamal secrets fetch --adapter lastpass --account me@x --from Shared A "B C")
A=$(kamal secrets extract A $SECRETS)
BC=$(kdeploy secrets extract "Shared/B C" ${SECRETS})
TEST=$(kamal secrets fetch -a test --account x LPARENxRPAREN)
X=$(kamal secrets extract LPARENxRPAREN $TEST)
PLAIN=$(echo from-shell)
"""


def lastpass(cli: StandIns, show: tuple[int, str]) -> None:
    cli.add("lpass", {("status", "--color", "never"): ok("Logged in as me@x.\n"),
                      ("show", "Shared/A", "Shared/B C", "--json"): show})


def test_secrets_file_resolves_kamal_secrets_without_kamal(
        cli: StandIns, capfd: pytest.CaptureFixture[str]) -> None:
    lastpass(cli, ok([{"fullname": "Shared/A", "password": "pa$$ 'word'"},
                      {"fullname": "Shared/B C", "password": "multi\nline"}]))
    (cli.tmp / "config").mkdir()
    (cli.tmp / "config" / "deploy.yml").write_text(DEPLOY_YML)
    (cli.tmp / ".kamal").mkdir()
    (cli.tmp / ".kamal" / "secrets").write_text(SECRETS_FILE)
    environ = cli.environ()
    assert shutil.which("kamal", path=environ["PATH"]) is None
    config = load_config(cli.tmp / "config" / "deploy.yml", version="v1", environ=environ)
    secrets = config.secrets
    assert secrets is not None
    # SECRETS holds fetch's JSON shell-escaped, as in Kamal: extract splits it back.
    assert {name: secrets[name] for name in secrets.names()} == {
        "SECRETS": '\\{\\"Shared/A\\":\\"pa$$\\ \\\'word\\\'\\",'
                   '\\"Shared/B\\ C\\":\\"multi\\\\nline\\"\\}',
        "A": "pa$$ 'word'", "BC": "multi\nline",
        "TEST": '\\{\\"LPARENxRPAREN\\":\\"\\)x\\(\\"\\}', "X": ")x(",
        "PLAIN": "from-shell"}
    assert cli.calls() == [["lpass", "--version"], ["lpass", "status", "--color", "never"],
                           ["lpass", "show", "Shared/A", "Shared/B C", "--json"]]
    out, err = capfd.readouterr()
    assert "word" not in out + err and "multi" not in out + err


def test_a_failing_vault_names_file_line_and_key(cli: StandIns) -> None:
    lastpass(cli, FAIL)
    (cli.tmp / ".kamal").mkdir()
    (cli.tmp / ".kamal" / "secrets").write_text(SECRETS_FILE)
    secrets = Secrets(base_dir=cli.tmp, environ=cli.environ())
    with pytest.raises(ConfigError) as error:
        secrets["A"]
    assert error.value.message == (
        '.kamal/secrets:1: SECRETS: Could not read ["Shared/A", "Shared/B C"] from LastPass')


# Kamal 2.12: `Kamal::Secrets.new` defaults `secrets_path:` to ".kamal/secrets" (2.11 required
# it); the config's `secrets_path` still defaults the same way (`raw_config.secrets_path ||`).
def test_secrets_path_defaults_to_kamal_secrets(tmp_path: Path) -> None:
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("S=plain")
    (tmp_path / ".kamal" / "secrets-common").write_text("C=common")
    secrets = Secrets(base_dir=tmp_path, environ={})
    assert secrets.files == [tmp_path / ".kamal/secrets-common", tmp_path / ".kamal/secrets"]
    assert (secrets["S"], secrets["C"]) == ("plain", "common")


@pytest.mark.parametrize(("setting", "read"), [
    ("", [".kamal/secrets-common", ".kamal/secrets"]),
    ("secrets_path: custom/s\n", ["custom/s-common", "custom/s"]),
])
def test_config_secrets_path(tmp_path: Path, setting: str, read: list[str]) -> None:
    for name in (".kamal/secrets", ".kamal/secrets-common", "custom/s", "custom/s-common"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"FROM={name}")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DEPLOY_YML + setting)
    config = load_config(tmp_path / "config" / "deploy.yml", version="v1", environ={})
    assert config.secrets is not None
    assert config.secrets.files == [tmp_path / name for name in read]
    assert config.secrets["FROM"] == read[-1]
