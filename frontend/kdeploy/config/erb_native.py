"""The ERB subset kdeploy renders without Ruby.

Tags are split exactly as Ruby's ``ERB::Compiler::ExplicitScanner`` (``trim_mode: "-"``) splits
them, so text, ``<%%``, ``-%>`` and ``<%-`` come out byte for byte as Ruby's. Inside the tags
only ``ENV`` lookups and string literals are understood; anything else is named, with the hint
that Ruby renders it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kdeploy.errors import ConfigError

# ExplicitScanner's start and end tag patterns (Ruby's /m is Python's DOTALL).
_STAG = re.compile(r"(.*?)(^[ \t]*<%-|<%-|<%%|<%=|<%#|<%|\Z)", re.DOTALL | re.MULTILINE)
_ETAG = re.compile(r"(.*?)(-%>|%%>|%>|\Z)", re.DOTALL)
_LINE_END = re.compile(r"\r?\n|\Z")

# Ruby string literals without escapes or interpolation, which is what deploy files use.
_STRING = r"""(?:"(?:[^"\\#]|\#(?!\{))*"|'[^'\\]*')"""
_EXPRESSIONS = {
    "index": re.compile(rf"ENV\s*\[\s*(?P<key>{_STRING})\s*\]"),
    "or": re.compile(rf"ENV\s*\[\s*(?P<key>{_STRING})\s*\]\s*\|\|\s*(?P<default>{_STRING})"),
    "fetch": re.compile(rf"ENV\.fetch\(\s*(?P<key>{_STRING})\s*\)"),
    "fetch_default": re.compile(
        rf"ENV\.fetch\(\s*(?P<key>{_STRING})\s*,\s*(?P<default>{_STRING})\s*\)"
    ),
    "literal": re.compile(rf"(?P<default>{_STRING})"),
}
_SNIPPET_LENGTH = 60


class _Tag:
    """One ``<% ... %>``: its kind (``<%``, ``<%=``, ``<%#``), content and line."""

    def __init__(self, kind: str, content: str, line: int, source: str, ends_line: bool) -> None:
        self.kind, self.content, self.line = kind, content, line
        # True when `-%>` ended the generated Ruby line (ERB's :cr): a newline or the end follows.
        self.source, self.ends_line = source, ends_line


def render_native(text: str, name: str, environ: Mapping[str, str]) -> str:
    """Render text with the native ERB subset.

    Args:
        text: The template.
        name: The file, named in errors.
        environ: What ``ENV`` holds.

    Returns:
        The rendered text, equal to what Ruby's ERB (``trim_mode: "-"``) returns.

    Raises:
        ConfigError: ``ENV.fetch`` of a missing variable, or ERB outside the subset.
    """
    out: list[str] = []
    pos = 0
    while pos < len(text):
        # Sliced, not matched at pos: Ruby's StringScanner lets `^` match at the scan position.
        match = _STAG.match(text[pos:])
        assert match is not None  # the pattern ends in an optional-text \Z alternative
        out.append(match[1])
        token, tag_start = match[2], pos + match.start(2)
        pos += match.end()
        if token == "<%%":
            out.append("<%")
        elif token:
            kind = "<%" if token.endswith("<%-") else token
            tag_start += len(token) - len(token.lstrip(" \t"))
            tag, pos = _read_tag(text, kind, tag_start, pos, name)
            out.append(_render_tag(tag, name, environ))
    return "".join(out)


def _read_tag(text: str, kind: str, start: int, pos: int, name: str) -> tuple[_Tag, int]:
    """Read up to the end tag; ``%%>`` inside a tag stands for ``%>``."""
    line = text.count("\n", 0, start) + 1
    content = ""
    while True:
        match = _ETAG.match(text, pos)
        assert match is not None
        content += match[1]
        pos = match.end()
        if match[2] == "%%>":
            content += "%>"
            continue
        if not match[2]:
            raise _unsupported(name, line, text[start:], "unterminated ERB tag")
        ends_line = False
        if match[2] == "-%>":
            # `-%>` eats the newline after it (ExplicitScanner's `scan(/(\r?\n|\z)/)`).
            line_end = _LINE_END.match(text, pos)
            ends_line = line_end is not None
            pos = line_end.end() if line_end else pos
        return _Tag(kind, content, line, text[start:pos], ends_line), pos


def _render_tag(tag: _Tag, name: str, environ: Mapping[str, str]) -> str:
    if tag.kind == "<%#":
        return ""
    if tag.kind == "<%=":
        return _evaluate(tag, name, environ)
    # A code tag renders nothing when it holds no code. A Ruby comment is safe only when
    # `-%>` ends the generated line; otherwise Ruby's comment swallows the text after it.
    code = tag.content.strip()
    if not code or (code.startswith("#") and "\n" not in code and tag.ends_line):
        return ""
    raise _unsupported(name, tag.line, tag.source)


def _evaluate(tag: _Tag, name: str, environ: Mapping[str, str]) -> str:
    code = tag.content.strip()
    for form, pattern in _EXPRESSIONS.items():
        match = pattern.fullmatch(code)
        if match:
            return _lookup(form, match, tag, name, environ)
    raise _unsupported(name, tag.line, tag.source)


def _lookup(
    form: str, match: re.Match[str], tag: _Tag, name: str, environ: Mapping[str, str]
) -> str:
    default = match.groupdict().get("default")
    if form == "literal":
        return default[1:-1]
    key = match["key"][1:-1]
    value = environ.get(key)
    if value is not None:
        return value
    if default is not None:
        return default[1:-1]
    if form == "fetch":
        raise ConfigError(f'{name}:{tag.line}: key not found: "{key}" (KeyError)')
    return ""  # ENV["X"] is nil, and nil.to_s is ""


def _unsupported(name: str, line: int, source: str, what: str = "") -> ConfigError:
    snippet = source if len(source) <= _SNIPPET_LENGTH else source[:_SNIPPET_LENGTH] + "..."
    problem = what or "ERB outside the supported subset"
    return ConfigError(f"{name}:{line}: {problem}: {snippet} (install ruby to render full ERB)")
