"""The CI recipes of examples/ci, read from the YAML files themselves and run as a CI would.

GitHub Actions: each job's `steps[].run` in job order (`needs`), every step its own `bash -e`
process, `$GITHUB_ENV` carried from step to step, `if: always()` steps run after a failure too,
`uses:` steps left out (checkout, artifacts: the test provides the project dir and reads the
files). GitLab CI: `before_script` + `script` per job in stage order, in one `bash` with
`set -eo pipefail` (what GitLab's runner writes), YAML anchors flattened as GitLab does.

A line ending in `# kdeploy-ci-test: skip` only makes sense on a CI runner (`pip install`) and
is left out. Variables come from the caller: GitHub's `${{ … }}` expressions and GitLab's `$NAME`
references in `variables:` must each be given, or the extraction fails naming it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
GITHUB = EXAMPLES / "github-actions.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
SKIP_MARKER = "# kdeploy-ci-test: skip"
STAGES = ("lint", "plan", "deploy")
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# Top-level keys of .gitlab-ci.yml that are not jobs.
_GITLAB_KEYWORDS = {"stages", "variables", "default", "include", "workflow", "image", "services",
                    "before_script", "after_script", "cache"}

Kind = Literal["github", "gitlab"]


@dataclass(frozen=True)
class Step:
    """One shell step: a GitHub `run:` or a GitLab job's whole script."""

    name: str
    script: str
    always: bool = False


@dataclass(frozen=True)
class Job:
    """A job's shell steps and its own environment (values as written in the file)."""

    name: str
    env: Mapping[str, str]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Recipe:
    """A CI file: its kind, its file-wide environment, its jobs in the order they run."""

    kind: Kind
    path: Path
    env: Mapping[str, str]
    jobs: tuple[Job, ...]

    def job(self, name: str) -> Job:
        """The job called `name`."""
        return next(job for job in self.jobs if job.name == name)


@dataclass(frozen=True)
class JobRun:
    """A finished job: the exit code of its first failed step (0 if none), everything printed."""

    job: str
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"job {self.job} -> exit {self.returncode}\n{self.output}"


def without_skipped_lines(script: str) -> str:
    """`script` without its lines that end in the skip marker."""
    return "\n".join(line for line in script.splitlines()
                     if not line.rstrip().endswith(SKIP_MARKER))


def skipped_lines(recipe_path: Path) -> list[str]:
    """Every line of a recipe file that carries the skip marker, stripped."""
    return [line.strip() for line in recipe_path.read_text().splitlines()
            if line.rstrip().rstrip('"').endswith(SKIP_MARKER)]


def load(kind: Kind) -> Recipe:
    """The recipe of `kind` from examples/ci."""
    return load_github(GITHUB) if kind == "github" else load_gitlab(GITLAB)


def load_github(path: Path) -> Recipe:
    """A GitHub Actions workflow: `jobs.*.steps[].run`, jobs ordered by `needs`."""
    data = yaml.safe_load(path.read_text())
    jobs = data["jobs"]
    ordered: list[str] = []
    while len(ordered) < len(jobs):
        ready = [name for name, job in jobs.items() if name not in ordered
                 and all(need in ordered for need in _as_list(job.get("needs")))]
        if not ready:
            raise ValueError(f"{path}: the jobs' needs form a cycle")
        ordered.append(ready[0])
    return Recipe("github", path, _strings(data.get("env")), tuple(
        Job(name, _strings(jobs[name].get("env")), tuple(
            Step(step.get("name") or f"step {number}", without_skipped_lines(step["run"]),
                 always=str(step.get("if", "")).strip() == "always()")
            for number, step in enumerate(jobs[name].get("steps", []), 1) if "run" in step))
        for name in ordered))


def load_gitlab(path: Path) -> Recipe:
    """A .gitlab-ci.yml: `before_script` (or `default`'s) + `script` per job, by stage."""
    data = yaml.safe_load(path.read_text())
    stages = data.get("stages", ["build", "test", "deploy"])
    default_before = data.get("default", {}).get("before_script", [])
    named = [(name, job) for name, job in data.items()
             if name not in _GITLAB_KEYWORDS and not name.startswith(".")
             and isinstance(job, dict) and "script" in job]
    named.sort(key=lambda item: stages.index(item[1].get("stage", "test")))
    jobs = []
    for name, job in named:
        lines = _flatten(job.get("before_script", default_before)) + _flatten(job["script"])
        kept = [line for line in lines if not line.rstrip().endswith(SKIP_MARKER)]
        jobs.append(Job(name, _strings(job.get("variables")),
                        (Step(name, "\n".join(kept)),)))
    return Recipe("gitlab", path, _strings(data.get("variables")), tuple(jobs))


def resolve_env(recipe: Recipe, job: Job, given: Mapping[str, str]) -> dict[str, str]:
    """The file's and the job's environment, with the values the CI would put in.

    Args:
        recipe: the recipe.
        job: one of its jobs.
        given: GitHub: expression -> value (`secrets.DEPLOY_SSH_KEY`, `github.sha`); GitLab:
            the CI's own variables (`CI_COMMIT_SHA`, the masked variables).

    Returns:
        Name -> value for the job's environment (GitLab: `given` too, as GitLab exports its
        variables to every job).

    Raises:
        KeyError: the file refers to something `given` has not.
    """
    if recipe.kind == "github":
        def expand(value: str) -> str:
            return _EXPRESSION.sub(lambda match: given[match.group(1)], value)
        return {name: expand(value) for name, value in {**recipe.env, **job.env}.items()}

    env = dict(given)
    for name, value in {**recipe.env, **job.env}.items():
        env[name] = _VARIABLE.sub(lambda match: env[match.group(1) or match.group(2)], value)
    return env


def run_job(recipe: Recipe, name: str, cwd: Path, base_env: Mapping[str, str],
            given: Mapping[str, str], timeout: float = 900) -> JobRun:
    """Run one job's shell steps in `cwd` as its CI would.

    Args:
        recipe: the recipe.
        name: the job.
        cwd: the checked-out project.
        base_env: the runner's environment (PATH with kdeploy on it, HOME, ...).
        given: as for `resolve_env`.
        timeout: seconds per step.

    Returns:
        The job's exit code and output (stdout and stderr together).
    """
    job = recipe.job(name)
    env = {**base_env, **resolve_env(recipe, job, given)}
    if recipe.kind == "gitlab":
        script = "set -eo pipefail\n" + job.steps[0].script + "\n"
        return JobRun(name, *_bash(["bash", "-c", script], cwd, env, timeout))

    github_env = cwd.parent / f".github-env-{name}"
    github_env.write_text("")
    env["GITHUB_ENV"] = str(github_env)
    returncode, output = 0, []
    for step in job.steps:
        if returncode != 0 and not step.always:
            continue
        code, printed = _bash(["bash", "-e", "-c", step.script], cwd,
                              {**env, **read_github_env(github_env)}, timeout)
        output.append(f"## {step.name} -> {code}\n{printed}")
        if code != 0 and returncode == 0:
            returncode = code
    return JobRun(name, returncode, "".join(output))


def read_github_env(path: Path) -> dict[str, str]:
    """What the steps so far wrote to `$GITHUB_ENV` (`NAME=value` lines; later lines win)."""
    env = {}
    for line in path.read_text().splitlines():
        if "<<" in line.split("=", 1)[0]:
            raise ValueError(f"multi-line $GITHUB_ENV values are not supported here: {line}")
        if line:
            name, value = line.split("=", 1)
            env[name] = value
    return env


def kdeploy_calls(script: str) -> list[list[str]]:
    """The argv (after `kdeploy`) of every kdeploy command in a shell script.

    Continuation lines are joined; a command ends at a redirection, a pipe, `;`, `&&` or `||`.
    Variables stay as written (`$SHA`): click sees a value either way.
    """
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] != "kdeploy":
            continue
        argv = []
        for word in words[1:]:
            if word in {">", ">>", "|", "||", "&&", ";", "2>", "<"} or word.startswith(">"):
                break
            argv.append(word)
        calls.append(argv)
    return calls


def _bash(argv: list[str], cwd: Path, env: Mapping[str, str],
          timeout: float) -> tuple[int, str]:
    result = subprocess.run(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return result.returncode, result.stdout


def _flatten(items: Any) -> list[str]:
    # GitLab flattens nested script arrays (anchors used as list items).
    if isinstance(items, str):
        return [items]
    return [line for item in items or [] for line in _flatten(item)]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _strings(mapping: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in (mapping or {}).items()}


def runner_env(path_first: Path, **extra: str) -> dict[str, str]:
    """A clean runner environment: this machine's, without an ssh agent, `path_first` on PATH."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"SSH_AUTH_SOCK", "SSH_AGENT_PID"}}
    env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}
