"""The env file bytes plugins/module_utils/env_file.py renders (Kamal::EnvFile).

The expected bytes are literals: what the roles' former `templates/env.j2` rendered for the same
secrets (captured with ansible-core 2.19 before the template was deleted). A different byte would
make every deployed container look stale on the next deploy, so these must never be regenerated
from the code under test.
"""

from __future__ import annotations

import pytest
from playbook_support import load_module_utils

env_file = load_module_utils("env_file")

CASES = [
    ("none", {}, b"\n"),
    ("simple", {"SECRET": "x"}, b"SECRET=x\n"),
    ("control", {"CTRL": "a\tb\nc\rd\x07\x08\x0b\x0c\x1b\x01\x1f\x7fe"},
     b"CTRL=a\\tb\\nc\\rd\\a\\b\\v\\f\\e\\x01\\x1F\\x7Fe\n"),
    ("backslash", {"PATHS": "C:\\dir\\n and \\\\ twice"},
     b"PATHS=C:\\\\dir\\\\n and \\\\\\\\ twice\n"),
    ("quotes_hash", {"Q": 'he said "hi" # not a comment', "S": "'single' #x"},
     b"Q=he said \"hi\" # not a comment\nS='single' #x\n"),
    ("non_ascii", {"U": "päss wörd ✓ 😀 \u00a0 \u2028"},
     b"U=p\xc3\xa4ss w\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\xa0 \xe2\x80\xa8\n"),
    ("empty_value", {"EMPTY": ""}, b"EMPTY=\n"),
    ("template_like", {"J": "{{ 7*7 }}{% raw %}x{% endraw %}{# c #}",
                       "D": "$HOME ${X} `id` $(id)"},
     b"J={{ 7*7 }}{% raw %}x{% endraw %}{# c #}\nD=$HOME ${X} `id` $(id)\n"),
    ("order", {"ZED": "1", "ALPHA": "2", "MID": "= x =  "}, b"ZED=1\nALPHA=2\nMID== x =  \n"),
    # tests/unit/playbooks/test_user_strings_in_plays.py's secret payload.
    ("payload", {"S1": "{{ lookup('pipe', 'touch /tmp/x/pwned') }}"},
     b"S1={{ lookup('pipe', 'touch /tmp/x/pwned') }}\n"),
]


@pytest.mark.parametrize(("secrets", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_render_equals_the_former_template_byte_for_byte(secrets: dict[str, str],
                                                         expected: bytes) -> None:
    assert env_file.render(secrets).encode("utf-8") == expected


def test_every_control_character_is_escaped_and_nothing_else() -> None:
    escaped = env_file.escape_value("".join(chr(code) for code in range(1, 128)))
    assert all(ord(char) >= 32 and char != "\x7f" for char in escaped)
    assert escaped.endswith(" !\"#$%&'()*+,-./0123456789:;<=>?@" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            + "[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\\x7F")
