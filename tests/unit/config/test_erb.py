"""ERB in config files: Ruby's ERB (as Kamal renders it) and the native subset agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdeploy.config import erb
from kdeploy.config.erb import render_erb
from kdeploy.errors import ConfigError

PATH = Path("config/deploy.yml")
ENVIRON = {"PATH": "/usr/bin:/bin", "X": "ex", "EMPTY": "", "KAMAL_DESTINATION": "staging"}
HAVE_RUBY = shutil.which("ruby") is not None
ENGINES = [
    pytest.param("ruby", marks=pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")),
    "native",
]

# (template, rendered): the native engine must render each exactly as Ruby's ERB does.
COMMON = [
    ("no tags at all\n", "no tags at all\n"),
    ('a <%= ENV["X"] %> b', "a ex b"),
    ("<%= ENV['X'] %>", "ex"),
    ('<%= ENV["MISSING"] %>.', "."),
    ('<%=ENV["X"]%>', "ex"),
    ('<%= ENV.fetch("X") %>', "ex"),
    ('<%= ENV.fetch("MISSING", "default") %>', "default"),
    ("<%= ENV.fetch('X', 'default') %>", "ex"),
    ('<%= ENV["MISSING"] || "default" %>', "default"),
    ('<%= ENV["EMPTY"] || "default" %>', ""),  # "" is truthy in Ruby
    ('<%= "a literal" %>', "a literal"),
    ("image: app-<%= ENV['KAMAL_DESTINATION'] %>\n", "image: app-staging\n"),
    ("x <%# a comment %>y", "x y"),
    ("a\n<%# comment -%>\nb\n", "a\nb\n"),
    ("a\n<%# multi\nline comment %>\nb", "a\n\nb"),
    ('a <%= ENV["X"] -%>\nb', "a exb"),
    ('a <%= ENV["X"] -%>', "a ex"),
    ("a\n  <%- # indented comment -%>\nb", "a\nb"),
    ("  <%- -%>\nz", "z"),
    ("keep  <%# not at line start, indentation kept %>", "keep  "),
    ('<%% x %%> <%= "%%>" %>', "<% x %%> %>"),
    ("windows\r\n<%# c -%>\r\nnext", "windows\r\nnext"),
    ('servers:\n  - <%= ENV.fetch("X") %>\n  - b\n', "servers:\n  - ex\n  - b\n"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("template", "rendered"), COMMON)
def test_subset_renders_like_ruby(engine: str, template: str, rendered: str) -> None:
    assert render_erb(template, PATH, ENVIRON, engine=engine) == rendered


@pytest.mark.parametrize("engine", ENGINES)
def test_fetch_of_a_missing_variable_names_file_line_and_key(engine: str) -> None:
    with pytest.raises(ConfigError) as error:
        render_erb('a: 1\nb: <%= ENV.fetch("NOPE") %>\n', PATH, ENVIRON, engine=engine)
    assert error.value.message == 'config/deploy.yml:2: key not found: "NOPE" (KeyError)'


# (template, what Ruby renders): full ERB, which only the ruby engine renders.
RUBY_ONLY = [
    ("<%= `echo hi` %>", "hi\n"),
    ("<%= %x(echo $X) %>", "ex\n"),
    ('<%= ENV.fetch("NOPE") { "block" } %>', "block"),
    ('<% if ENV["X"] == "ex" %>yes<% end %>', "yes"),
    ("<% 2.times do |i| -%>\nline<%= i %>\n<% end -%>\n", "line0\nline1\n"),
    ('<%= "#{ENV["X"]}!" %>', "ex!"),
    ("<%= ENV['X'].upcase %>", "EX"),
    ('<% host = "h" %><%= host %>', "h"),
]


@pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")
@pytest.mark.parametrize(("template", "rendered"), RUBY_ONLY)
def test_full_erb_with_ruby(template: str, rendered: str) -> None:
    assert render_erb(template, PATH, ENVIRON, engine="ruby") == rendered


@pytest.mark.parametrize(("template", "_rendered"), RUBY_ONLY)
def test_full_erb_is_named_by_the_native_engine(template: str, _rendered: str) -> None:
    with pytest.raises(ConfigError) as error:
        render_erb(f"first: line\n{template}", PATH, ENVIRON, engine="native")
    message = error.value.message
    assert message.startswith("config/deploy.yml:2: ERB outside the supported subset: <%")
    assert message.endswith("(install ruby to render full ERB)")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<% # a comment swallows the rest of the line %>text", "outside the supported subset"),
        ('a\n<%= ENV["X"]', "unterminated ERB tag"),
    ],
)
def test_native_rejects_what_it_cannot_render_like_ruby(template: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        render_erb(template, PATH, ENVIRON, engine="native")


@pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")
@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "a: 1\nb: <%= nope %>\n",
            "config/deploy.yml:2: undefined local variable or method `nope' for main:Object "
            "(NameError)",
        ),
        ("a\nb\n<% if true %>", "config/deploy.yml:3: syntax error"),
        ('<%= raise "custom" %>', "config/deploy.yml:1: custom (RuntimeError)"),
    ],
)
def test_ruby_errors_name_file_line_and_message(template: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        render_erb(template, PATH, ENVIRON, engine="ruby")
    assert error.value.message.startswith(message)
    assert "Traceback" not in error.value.message
    assert "erb.rb" not in error.value.message


def test_text_without_tags_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("no subprocess expected")

    monkeypatch.setattr(subprocess, "run", fail)
    assert render_erb("service: app\n", PATH, ENVIRON, engine="ruby") == "service: app\n"


def test_auto_without_ruby_uses_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(erb.shutil, "which", lambda name: None)
    assert render_erb('<%= ENV["X"] %>', PATH, ENVIRON) == "ex"
    with pytest.raises(ConfigError, match="install ruby"):
        render_erb("<%= `date` %>", PATH, ENVIRON)
    with pytest.raises(ConfigError, match="ruby is not installed"):
        render_erb('<%= ENV["X"] %>', PATH, ENVIRON, engine="ruby")


@pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")
def test_auto_with_ruby_renders_full_erb() -> None:
    assert render_erb("<%= 1 + 1 %>", PATH, ENVIRON) == "2"


@pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")
def test_environ_is_the_whole_env() -> None:
    assert render_erb('<%= ENV.key?("HOME") %>', PATH, {"PATH": "/usr/bin:/bin"}) == "false"


def test_unknown_engine() -> None:
    with pytest.raises(ConfigError, match="unknown ERB engine 'erubi'"):
        render_erb("<%= 1 %>", PATH, ENVIRON, engine="erubi")


# Property: wherever the native engine renders a template, Ruby renders the same text.
_RUBY_BATCH = r"""
require "erb"; require "json"
out = JSON.parse(STDIN.read).map do |t|
  ERB.new(t, trim_mode: "-").result
rescue ScriptError, StandardError
  nil
end
print JSON.dump(out)
"""
_PIECES = st.one_of(
    st.text(alphabet=" \t\r\na#<%>-=", max_size=5),
    st.sampled_from(
        [
            '<%= ENV["X"] %>',
            "<%= ENV['MISSING'] -%>",
            '<%= ENV.fetch("X", "d") -%>',
            '<%= ENV["EMPTY"] || "d" %>',
            "<%# comment %>",
            "<%# comment -%>",
            "<%- -%>",
            "<%- # comment -%>",
            "<%%",
            "%%>",
            '<%= "%%>" %>',
            "<%=ENV['X']-%>",
            "\n  <%- -%>",
            "<%# multi\nline %>",
        ]
    ),
)


@pytest.mark.skipif(not HAVE_RUBY, reason="ruby not installed")
@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), min_size=40, max_size=40))
def test_native_agrees_with_ruby_wherever_it_renders(templates: list[str]) -> None:
    ruby = subprocess.run(
        ["ruby", "-EUTF-8:UTF-8", "-e", _RUBY_BATCH],
        input=json.dumps(templates),
        env=ENVIRON,
        capture_output=True,
        text=True,
        check=True,
    )
    for template, expected in zip(templates, json.loads(ruby.stdout), strict=True):
        try:
            rendered = render_erb(template, PATH, ENVIRON, engine="native")
        except ConfigError:
            continue
        assert rendered == expected, template
