"""Render the ERB in Kamal config files: with Ruby when it is there, else a native subset.

Kamal renders every config file with ``ERB.new(text, trim_mode: "-").result`` before YAML
parsing. Ruby gives exact parity (backticks, ``%x()``, any Ruby); the native engine covers what
deploy files use most (``ENV`` lookups, comments, trimming) and names anything else.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from kdeploy.config.erb_native import render_native
from kdeploy.errors import ConfigError

ENGINES = ("auto", "ruby", "native")

# Runs the template as Kamal does, and reports an error as "line<TAB>class<TAB>message" so
# Python can word it without a Ruby backtrace. Kamal::Utils.docker_arch is the one Kamal helper
# that deploy files call; it is copied here because Kamal itself is not loaded.
_RUBY_SCRIPT = r"""
require "erb"
module Kamal; module Utils
  def self.docker_arch
    arch = `docker info --format '{{.Architecture}}'`.strip
    case arch when /aarch64/ then "arm64" when /x86_64/ then "amd64" else arch end
  end
end; end
path = ARGV.fetch(0)
begin
  erb = ERB.new(STDIN.binmode.read.force_encoding(Encoding::UTF_8), trim_mode: "-")
  erb.filename = path
  STDOUT.binmode.write(erb.result)
rescue Exception => e
  message = e.message.to_s
  line = message[/\A#{Regexp.escape(path)}:(\d+): /, 1]
  message = message.sub(/\A#{Regexp.escape(path)}:\d+: /, "") if line
  loc = (e.backtrace || []).find { |l| l.start_with?("#{path}:") }
  line ||= loc && loc[path.size + 1..][/\A\d+/]
  STDERR.write("#{line}\t#{e.class}\t#{message.lines.first.to_s.strip}")
  exit 1
end
"""


def render_erb(text: str, path: Path, environ: Mapping[str, str], engine: str = "auto") -> str:
    """Render the ERB in one config file.

    Args:
        text: The file's content.
        path: The file, named in errors.
        environ: The whole process environment the template sees as ``ENV`` (and that its
            backticks run with).
        engine: ``"ruby"``, ``"native"``, or ``"auto"`` (Ruby when ``ruby`` is on PATH).

    Returns:
        The rendered text; text without ``<%`` comes back unchanged without running anything.

    Raises:
        ConfigError: The template fails (file, line and Ruby's message), uses ERB the native
            engine does not support, or engine is unknown.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown ERB engine {engine!r} (expected one of {', '.join(ENGINES)})")
    if "<%" not in text:
        return text
    ruby = shutil.which("ruby") if engine != "native" else None
    if engine == "ruby" and ruby is None:
        raise ConfigError(f"{path}: rendering ERB with ruby, but ruby is not installed")
    if ruby is None:
        return render_native(text, str(path), environ)
    return _render_ruby(ruby, text, str(path), environ)


def _render_ruby(ruby: str, text: str, name: str, environ: Mapping[str, str]) -> str:
    result = subprocess.run(
        [ruby, "-EUTF-8:UTF-8", "-e", _RUBY_SCRIPT, name],
        input=text.encode("utf-8"),
        env=dict(environ),
        capture_output=True,
        check=False,
    )
    if result.returncode == 0:
        return result.stdout.decode("utf-8")
    raise ConfigError(_ruby_error(name, result.stderr.decode("utf-8", errors="replace")))


def _ruby_error(name: str, report: str) -> str:
    """Word a failure reported by _RUBY_SCRIPT; anything else is Ruby itself failing."""
    parts = report.split("\t", 2)
    if len(parts) != 3:
        return f"{name}: ruby failed to render ERB: {report.strip()}"
    line, error_class, message = parts
    where = f"{name}:{line}" if line else name
    return f"{where}: {message} ({error_class})"
