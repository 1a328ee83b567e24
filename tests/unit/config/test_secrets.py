"""Kamal's secrets files: which are read, lookups, errors, commands, redaction, parity."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdeploy.config import load_config
from kdeploy.config.secrets import Secrets
from kdeploy.errors import ConfigError

KAMAL = shutil.which("kamal") or shutil.which("kamal", path=str(Path(sys.executable).parent))
BASE_ENV = {
    "PATH": os.pathsep.join(
        filter(None, [str(Path(KAMAL).parent) if KAMAL else "", "/usr/bin", "/bin"])
    ),
    "HOME": "/nonexistent",
}


def write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make(base: Path, files: dict[str, str], **kwargs: object) -> Secrets:
    write(base, files)
    kwargs.setdefault("environ", BASE_ENV)
    return Secrets(base_dir=base, **kwargs)  # type: ignore[arg-type]


# (files, destination, expected SECRET, files read) — Kamal's test/secrets_test.rb "destinations".
ALL_FILES = {
    ".kamal/secrets.dest": "SECRET=DEF",
    ".kamal/secrets": "SECRET=ABC",
    ".kamal/secrets-common": "SECRET=GHI\nSECRET2=JKL",
}


@pytest.mark.parametrize(
    ("files", "destination", "expected", "read"),
    [
        (ALL_FILES, None, "ABC", [".kamal/secrets-common", ".kamal/secrets"]),
        (ALL_FILES, "dest", "DEF", [".kamal/secrets-common", ".kamal/secrets.dest"]),
        (ALL_FILES, "nodest", "GHI", [".kamal/secrets-common"]),
        ({".kamal/secrets": "SECRET=ABC"}, None, "ABC", [".kamal/secrets"]),
        ({".kamal/secrets": "SECRET=ABC"}, "dest", None, []),
        ({".kamal/secrets-common": "SECRET=C"}, "dest", "C", [".kamal/secrets-common"]),
    ],
)
def test_files_and_override_order(
    tmp_path: Path,
    files: dict[str, str],
    destination: str | None,
    expected: str | None,
    read: list[str],
) -> None:
    secrets = make(tmp_path, files, destination=destination)
    assert secrets.files == [tmp_path / name for name in read]
    if expected is None:
        assert "SECRET" not in secrets
    else:
        assert secrets["SECRET"] == expected
    if ".kamal/secrets-common" in read and "SECRET2" in files.get(".kamal/secrets-common", ""):
        assert secrets["SECRET2"] == "JKL"


@pytest.mark.parametrize(
    ("files", "kwargs", "message"),
    [
        (
            {},
            {},
            "Secret 'X' not found, no secret files "
            "(.kamal/secrets-common, .kamal/secrets) provided",
        ),
        (
            {},
            {"destination": "dest"},
            "Secret 'X' not found, no secret files "
            "(.kamal/secrets-common, .kamal/secrets.dest) provided",
        ),
        (
            {},
            {"secrets_path": "custom/path/secrets"},
            "Secret 'X' not found, no secret files "
            "(custom/path/secrets-common, "
            "custom/path/secrets) provided",
        ),
        ({".kamal/secrets": "A=1"}, {}, "Secret 'X' not found in .kamal/secrets"),
        (
            {".kamal/secrets": "A=1", ".kamal/secrets-common": "B=1"},
            {},
            "Secret 'X' not found in .kamal/secrets-common, .kamal/secrets",
        ),
    ],
)
def test_missing_secret_uses_kamals_message(
    tmp_path: Path, files: dict[str, str], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make(tmp_path, files, **kwargs)["X"]
    assert error.value.message == message


def test_custom_secrets_path_and_names_in_file_order(tmp_path: Path) -> None:
    files = {"custom/s-common": "COMMON=SHARED\nSECRET=COMMON", "custom/s": "SECRET=OVERRIDE\nZ=1"}
    secrets = make(tmp_path, files, secrets_path="custom/s")
    assert secrets.names() == ["COMMON", "SECRET", "Z"]
    assert (secrets["COMMON"], secrets["SECRET"]) == ("SHARED", "OVERRIDE")


@pytest.mark.parametrize(
    ("text", "present"), [("X=v", True), ("X=", False), ("X=' '", False), ("Y=v", False)]
)
def test_contains_is_kamals_key_predicate(tmp_path: Path, text: str, present: bool) -> None:
    assert ("X" in make(tmp_path, {".kamal/secrets": text})) is present


def test_nothing_is_read_or_run_before_the_first_lookup(tmp_path: Path) -> None:
    secrets = make(tmp_path, {".kamal/secrets": "A=$(touch ran && echo yes)"})
    assert secrets.files == [tmp_path / ".kamal/secrets"]
    assert "not loaded" in repr(secrets)
    assert not (tmp_path / "ran").exists()
    assert secrets["A"] == "yes"
    assert (tmp_path / "ran").exists()


def test_commands_run_in_base_dir_with_environ(tmp_path: Path) -> None:
    text = "DIR=$(pwd)\nONLY=$(printenv ONLY_HERE)\nVIA=$(echo $ONLY_HERE)"
    secrets = make(tmp_path, {".kamal/secrets": text}, environ={**BASE_ENV, "ONLY_HERE": "v"})
    assert (secrets["DIR"], secrets["ONLY"], secrets["VIA"]) == (str(tmp_path), "v", "v")


def test_each_command_is_logged_as_written_never_its_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        "TOKEN=$(printf 'tok-%s' s3cr3t)\n"
        "DERIVED=\"$(echo $TOKEN | rev) and $(printf 'x%.0s' 1)\"\n"
        "QUOTED='$(never-run)'\nESCAPED=\\$(never-run)\n"
        "INLINE_ENV=$(printenv ONLY_HERE)\n"
    )
    secrets = make(tmp_path, {".kamal/secrets": text},
                   environ={**BASE_ENV, "ONLY_HERE": "envsecret"})
    with caplog.at_level(logging.INFO, logger="kdeploy.config.secrets"):
        assert secrets["DERIVED"] == "t3rc3s-kot and x"
    assert [r.getMessage() for r in caplog.records] == [
        "Running `printf 'tok-%s' s3cr3t` for .kamal/secrets:1 (TOKEN)",
        "Running `echo $TOKEN | rev` for .kamal/secrets:2 (DERIVED)",
        "Running `printf 'x%.0s' 1` for .kamal/secrets:2 (DERIVED)",
        "Running `printenv ONLY_HERE` for .kamal/secrets:5 (INLINE_ENV)",
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in (secrets["TOKEN"], secrets["DERIVED"], "t3rc3s", secrets["INLINE_ENV"]):
        assert value not in logged
    # Read once: a second lookup runs (and logs) nothing.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kdeploy.config.secrets"):
        secrets["TOKEN"]
    assert caplog.records == []


def test_a_failing_command_is_logged_before_it_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Kamal keeps whatever a failing command printed (backticks ignore the exit status);
    # kdeploy stops, and -v has named the command that failed.
    secrets = make(tmp_path, {".kamal/secrets": "A=$(echo partial-secret; false)"})
    with caplog.at_level(logging.INFO, logger="kdeploy.config.secrets"), \
            pytest.raises(ConfigError) as error:
        secrets["A"]
    assert [r.getMessage() for r in caplog.records] == [
        "Running `echo partial-secret; false` for .kamal/secrets:1 (A)"]
    assert error.value.message == ".kamal/secrets:1: A: command failed with exit status 1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "A=1\nB=$(echo topsecret; exit 3)",
            ".kamal/secrets:2: B: command failed with exit status 3",
        ),
        ('A="unterminated', ".kamal/secrets:1: A: unterminated quote"),
        ("A=1\nhunter2 hunter2", ".kamal/secrets:2: not a KEY=value line"),
    ],
)
def test_file_errors_name_file_and_line_without_values(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make(tmp_path, {".kamal/secrets": text})["A"]
    assert error.value.message.startswith(message)
    assert "topsecret" not in error.value.message
    assert "hunter2" not in error.value.message


@pytest.mark.parametrize(
    ("text", "printed", "expected"),
    [
        ("A=abcd", "x abcd y abcd", f"x {'[REDACTED]'} y [REDACTED]"),
        ("A=abc", "abc", "abc"),  # too short to redact without mangling unrelated words
        ("A=abcd\nB=abcdef", "abcdef abcd", "[REDACTED] [REDACTED]"),
        ('A="two\nlines"', "key: two\nlines.", "key: [REDACTED]."),
        ('A="first\n  second\nend"', "x second y end", "x [REDACTED] y end"),
        ("A=a.b*", "a.b* axb", "[REDACTED] axb"),
    ],
)
def test_redact(tmp_path: Path, text: str, printed: str, expected: str) -> None:
    secrets = make(tmp_path, {".kamal/secrets": text})
    secrets.names()
    assert secrets.redact(printed) == expected


def test_redact_before_loading_runs_nothing(tmp_path: Path) -> None:
    secrets = make(tmp_path, {".kamal/secrets": "A=$(touch ran)"})
    assert secrets.redact("text") == "text"
    assert not (tmp_path / "ran").exists()


def test_repr_never_shows_values(tmp_path: Path) -> None:
    secrets = make(tmp_path, {".kamal/secrets": "PASSWORD=s3cr3t-value"})
    assert "s3cr3t" not in repr(secrets)
    secrets.names()
    assert "s3cr3t" not in repr(secrets)
    assert "PASSWORD" not in repr(secrets)


# Parity: `kamal secrets print` (Kamal 2.11) in a temp project must print what we load.
DEPLOY_YML = """\
service: app
image: app/app
servers: [1.1.1.1]
registry: {username: u, password: p}
builder: {arch: amd64}
"""
PARITY_CASES = {
    "plain": {".kamal/secrets": "A=1\nexport B = two words # c\nC: 3\nD\nE=a#b\n"},
    "quotes": {
        ".kamal/secrets": 'A=\'$HOME_X \\n\'\nB="q\\"q \\n"\nC="multi\nline"\n'
        "D=plain\\nz\nE='it's'\n"
    },
    "variables": {
        ".kamal/secrets": "A=1\nB=$A${A}\nC=$HOME_X\nHOME_X=file\nD=$HOME_X\nE=\\$A\nF=${NOPE}x$\n"
    },
    "commands": {
        ".kamal/secrets": 'A=$(echo hi)\nB=$(echo "(x)" $A)\nC=\\$(echo no)\n'
        "D=$(echo \\) y)\nE=\"$(printf 'a\\nb\\n')\"\n"
    },
    "kamal_inline": {
        ".kamal/secrets": 'S=$(kamal secrets fetch -a test --account x A "B C")\n'
        "A=$(kamal secrets extract A $S)\n"
        'BC=$(kamal secrets extract "B C" ${S})\n'
    },
    "common": {".kamal/secrets-common": "A=common\nB=common\n", ".kamal/secrets": "B=$A\n"},
    "destination": {
        ".kamal/secrets-common": "A=common\n",
        ".kamal/secrets": "A=plain\n",
        ".kamal/secrets.staging": "A=staging\nB=2\nC=$(printenv KAMAL_DESTINATION)\n",
        "config/deploy.staging.yml": "{}\n",
    },
    # Which shell runs a command, in which directory, with which environment; stderr is not
    # captured; nested commands are the shell's.
    "shell": {
        ".kamal/secrets": "SH=$(readlink /proc/$$/exe)\nDIR=$(basename \"$(pwd)\")\n"
        "ENV=$(printenv HOME_X)\nERR=$(echo out; echo err >&2)\n"
        "SPACES=\"$(echo 'a  b')\"\nNO_DEST=$(printenv KAMAL_DESTINATION || echo none)\n"
    },
    # A command's output goes through dotenv's `$VAR` expansion too: `pa$word` loses `$word`.
    "output_expanded": {".kamal/secrets": "A=$(printf 'pa%sword' '$')\nB=$(printf '%s' \\$A)\n"},
}


@pytest.fixture(scope="module")
def kamal_printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Run `kamal secrets print` for every case at once (each run takes most of a second)."""
    if KAMAL is None:
        pytest.skip("kamal is not installed")
    running = {}
    for name, files in PARITY_CASES.items():
        base = tmp_path_factory.mktemp(name)
        write(base, {"config/deploy.yml": DEPLOY_YML, **files})
        destination = ["-d", "staging"] if name == "destination" else []
        running[name] = (
            base,
            subprocess.Popen(
                [KAMAL, "secrets", "print", *destination],
                cwd=base,
                env=parity_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    printed = {}
    for name, (base, process) in running.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        printed[name] = (base, out)
    return printed


def parity_env() -> dict[str, str]:
    return {**BASE_ENV, "HOME_X": "from-env"}


@pytest.mark.parametrize("case", PARITY_CASES)
def test_parity_with_kamal_secrets_print(
    kamal_printed: dict[str, tuple[Path, str]], case: str
) -> None:
    base, printed = kamal_printed[case]
    destination = "staging" if case == "destination" else None
    # Through load_config, which sets the environment the commands see (KAMAL_DESTINATION).
    config = load_config(base / "config" / "deploy.yml", destination, version="v1",
                         environ=parity_env())
    secrets = config.secrets
    assert secrets is not None
    # Kamal prints with `puts "#{key}=#{value}"`, which adds a newline unless one ends the value.
    ours = "".join(
        f"{k}={v}" + ("" if v.endswith("\n") else "\n")
        for k, v in ((n, secrets[n]) for n in secrets.names())
    )
    assert ours == printed
