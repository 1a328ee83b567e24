"""The dotenv rules of Kamal's secrets files (dotenv gem 3.2, overwrite: true)."""

from __future__ import annotations

import pytest

from kdeploy.config.dotenv import CommandFailed, parse_dotenv
from kdeploy.errors import ConfigError

ENVIRON = {"FROM_ENV": "envval", "EMPTY_ENV": ""}


def fake_run(command: str) -> str:
    """Stand-in for the shell: shows which command would have run."""
    return f"<{command}>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Lines, separators, export, comments and blanks.
        ("A=1", {"A": "1"}),
        ("export A=1", {"A": "1"}),
        ("A = 1  ", {"A": "1"}),
        ("A: 1", {"A": "1"}),
        ("A", {"A": ""}),
        ("A=", {"A": ""}),
        ("a.b_c=1", {"a.b_c": "1"}),
        ("A=  spaced value  ", {"A": "spaced value"}),
        ("# comment\n\nA=1 # trailing\n  # indented\n\nB=2\n", {"A": "1", "B": "2"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("A=1\nA=2", {"A": "2"}),
        ("A=1\nexport A", {"A": "1"}),
        # An unquoted `#` starts a comment; a quoted one does not.
        ("A=a#b", {"A": "a"}),
        ('A="a#b"', {"A": "a#b"}),
        ("A='a#b'", {"A": "a#b"}),
        # Single quotes are literal; double quotes unescape and substitute.
        ("A='$B \\n \\' $(x)'", {"A": "$B \\n \\' $(x)"}),
        ('A="q\\"q"', {"A": 'q"q'}),
        ("A='it's'", {"A": "it's"}),
        ("A=plain\\nz", {"A": "plainnz"}),
        # dotenv 3 keeps \n literal in double quotes unless DOTENV_LINEBREAK_MODE=legacy.
        ('A="a\\nb"', {"A": "a\\nb"}),
        (
            'DOTENV_LINEBREAK_MODE=legacy\nA="a\\nb"',
            {"DOTENV_LINEBREAK_MODE": "legacy", "A": "a\nb"},
        ),
        ('A="line one\nline two"\nB=2', {"A": "line one\nline two", "B": "2"}),
        # Variables: earlier lines, then the environment, else empty.
        ("A=1\nB=$A-${A}", {"A": "1", "B": "1-1"}),
        ("B=$FROM_ENV", {"B": "envval"}),
        ("FROM_ENV=file\nB=$FROM_ENV", {"FROM_ENV": "file", "B": "file"}),
        ("A=\nB=x${A}y", {"A": "", "B": "xy"}),
        ("B=x${NOPE}y$EMPTY_ENV", {"B": "xy"}),
        ("A=1\nB=\\$A", {"A": "1", "B": "$A"}),
        ('A=1\nB="\\${A}"', {"A": "1", "B": "${A}"}),
        ("A='$FROM_ENV'", {"A": "$FROM_ENV"}),
        ("A=cost$", {"A": "cost$"}),
        ("B=$a_lower", {"B": ""}),
        ("B=${A", {"B": ""}),
        # Commands: variables are substituted inside them first.
        ("A=$(echo hi)", {"A": "<echo hi>"}),
        ("A=1\nB=$(get $A) and ${A}", {"A": "1", "B": "<get 1> and 1"}),
        ("A=$(f (a) (b (c)))", {"A": "<f (a) (b (c))>"}),
        # Backslashes are removed before commands are found, so `\)` still closes one.
        ("A=$(f \\) x)", {"A": "<f > x)"}),
        ('A="pre $(f) post"', {"A": "pre <f> post"}),
        ("A=\\$(f)", {"A": "$(f)"}),
        ('A="\\$(f)"', {"A": "$(f)"}),
        ("A='$(f)'", {"A": "$(f)"}),
        ("A=$()", {"A": "$()"}),
        ("A=$(unbalanced", {"A": "$(unbalanced"}),
    ],
)
def test_parse(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text, ".kamal/secrets", ENVIRON, fake_run) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('A="abc', ".kamal/secrets:1: A: unterminated quote"),
        ("A=1\nB='abc\nC=3", ".kamal/secrets:2: B: unterminated quote"),
        ('A="a"b', ".kamal/secrets:1: A: unterminated quote"),
        ("A=1\nnot a line\n", ".kamal/secrets:2: not a KEY=value line"),
        ("A=1\n\n-B=2", ".kamal/secrets:3: not a KEY=value line"),
        ("export B", ".kamal/secrets:1: `export B` without a value, but B is not set earlier"),
        ("A=1\n\nB=$(boom)", ".kamal/secrets:3: B: boom failed"),
    ],
)
def test_syntax_errors_name_file_and_line(text: str, message: str) -> None:
    def run(command: str) -> str:
        raise CommandFailed(f"{command} failed")

    with pytest.raises(ConfigError) as error:
        parse_dotenv(text, ".kamal/secrets", ENVIRON, run)
    assert error.value.message.startswith(message)


def test_broken_line_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as error:
        parse_dotenv("PASSWORD hunter22", ".kamal/secrets", {}, fake_run)
    assert "hunter22" not in error.value.message


def test_commands_run_in_file_order_and_only_unescaped() -> None:
    ran: list[str] = []

    def run(command: str) -> str:
        ran.append(command)
        return command.upper()

    text = "A=$(one)\nB='$(never)'\nC=\\$(never)\nD=$(two $A)"
    assert parse_dotenv(text, "f", {}, run)["D"] == "TWO ONE"
    assert ran == ["one", "two ONE"]


def test_announce_gets_each_command_as_written_with_its_place() -> None:
    told: list[tuple[str, str]] = []
    text = "A=1\nB=\"$(get $A) $(other ${A})\"\nC='$(never)'\nD=\\$(never)\nE=$(last)"
    values = parse_dotenv(text, ".kamal/secrets", {}, fake_run,
                          lambda where, command: told.append((where, command)))
    assert told == [(".kamal/secrets:2 (B)", "get $A"), (".kamal/secrets:2 (B)", "other ${A}"),
                    (".kamal/secrets:5 (E)", "last")]
    assert values["B"] == "<get 1> <other 1>"
