"""Read `config/deploy.yml` (+ `deploy.<destination>.yml`): ERB, YAML, merge, validate, build."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kdeploy.config.assemble import assemble_config
from kdeploy.config.erb import render_erb
from kdeploy.config.model import Config
from kdeploy.config.names import check_destination
from kdeploy.config.secrets import Secrets
from kdeploy.config.values import deep_merge
from kdeploy.errors import ConfigError

# Anchors and aliases are fine (Kamal uses `unsafe_load`); Ruby object tags are not.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_config(config_file: str | Path = "config/deploy.yml", destination: str | None = None,
                *, version: str | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Load, validate and build the deploy config.

    Args:
        config_file: the base config file (`-c`).
        destination: `-d`: also read `<config_file minus .yml>.<destination>.yml`.
        version: `--version`; else `$VERSION`; else `git rev-parse HEAD`; else None.
        environ: the environment ERB sees (default: the process environment).

    Returns:
        The immutable Config.

    Raises:
        ConfigError: a file is missing or unreadable, or the config is invalid; the message
            names the file (or `-d/--destination` for a destination that cannot be a name).
    """
    path = Path(config_file)
    env = _erb_environment(destination, environ)
    raw = load_raw_config(path, destination, environ=env)
    project_dir = project_dir_of(path)
    try:
        return assemble_config(
            raw, config_file=path, project_dir=project_dir, destination=destination,
            version=version or env.get("VERSION") or git_version(project_dir),
            secrets=_secrets(raw, destination, project_dir, env),
        )
    except ConfigError as error:
        raise ConfigError(f"{path}: {error.message}") from error


def load_raw_config(config_file: str | Path, destination: str | None = None, *,
                    environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config as YAML gives it: ERB rendered, the destination file merged, not validated.

    Kamal reads aliases from this (`Commander#resolve_alias`) before it loads the config.

    Raises:
        ConfigError: a file is missing, unreadable, not YAML or not a hash; a bad destination.
    """
    check_destination(destination)
    path = Path(config_file)
    env = _erb_environment(destination, environ)
    raw = read_config_file(path, env)
    if destination:
        raw = deep_merge(raw, read_config_file(destination_file(path, destination), env))
    return raw


def _erb_environment(destination: str | None,
                     environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    # Kamal sets KAMAL_DESTINATION, or clears it without -d, before rendering any ERB.
    env.pop("KAMAL_DESTINATION", None)
    if destination:
        env["KAMAL_DESTINATION"] = destination
    return env


def destination_file(config_file: Path, destination: str) -> Path:
    """`config/deploy.yml` + `staging` -> `config/deploy.staging.yml` (Ruby's `sub_ext`)."""
    return config_file.with_suffix(f".{destination}.yml")


def project_dir_of(config_file: Path) -> Path:
    """The directory Kamal would run in: the parent of `config/`, else the working directory."""
    parent = config_file.resolve().parent
    return parent.parent if parent.name == "config" else Path.cwd()


def read_config_file(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Render one config file with ERB and parse it; the top level must be a hash."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Configuration file not found in {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    rendered = render_erb(text, path, environ)
    try:
        raw = yaml.load(rendered, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {_yaml_problem(error)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level should be a hash")
    return raw


def git_version(project_dir: Path) -> str | None:
    """`git rev-parse HEAD` in the project, or None outside a git repository."""
    try:
        result = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=False, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _secrets(raw: Mapping[str, Any], destination: str | None, project_dir: Path,
             environ: Mapping[str, str]) -> Secrets:
    secrets_path = raw.get("secrets_path")
    return Secrets(secrets_path=".kamal/secrets" if secrets_path is None else str(secrets_path),
                   destination=destination, base_dir=project_dir, environ=environ)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
