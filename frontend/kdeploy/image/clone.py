"""Where `build push` builds: a clean git clone of HEAD, as Kamal does (`cli/build/clone.rb`).

Without `builder.context`, Kamal clones the project's repository into
`$TMPDIR/kamal-clones/<service>-<sha256(project dir)[0..12]>` and builds there, so only committed
files reach the image; an existing clone is reset to HEAD instead of cloned again, and a clone
that cannot be reset or is not clean on HEAD afterwards is deleted and cloned once more. Same
directory as Kamal's, so the two tools share (and reset) one clone.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdeploy.errors import DeployFailed
from kdeploy.image import local


class CloneError(DeployFailed):
    """The clone could not be prepared (Kamal's BuildError while cloning)."""

    kind = "build"


@dataclass(frozen=True)
class GitRepo:
    """The project's git repository: its top directory and the commit HEAD points to."""

    root: Path
    revision: str


def git_repo(project_dir: Path) -> GitRepo | None:
    """The repository the project lives in, or None outside git (Kamal's `Git.used?`).

    Raises:
        CloneError: inside a repository without any commit (there is nothing to clone).
    """
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if not top.ok:
        return None
    head = _git(project_dir, "rev-parse", "HEAD")
    if not head.ok:
        raise CloneError(f"Cannot build from a git clone of {top.output.strip()}: it has no "
                         "commit yet (commit, or set builder/context to build the working tree)")
    return GitRepo(Path(top.output.strip()), head.output.strip())


def uncommitted_changes(project_dir: Path) -> str:
    """`git status --porcelain`, stripped: empty when the working tree is clean."""
    return _git(project_dir, "status", "--porcelain").output.strip()


def clone_directory(service: str, project_dir: Path) -> Path:
    """`$TMPDIR/kamal-clones/<service>-<first 13 hex digits of sha256(project dir)>`."""
    digest = hashlib.sha256(str(project_dir).encode()).hexdigest()[:13]
    return Path(tempfile.gettempdir()) / "kamal-clones" / f"{service}-{digest}"


def build_directory(service: str, project_dir: Path, repo: GitRepo) -> Path:
    """The project's directory inside the clone (the repository may hold more than it)."""
    relative = project_dir.relative_to(repo.root) if project_dir != repo.root else Path()
    return clone_directory(service, project_dir) / repo.root.name / relative


def clone_step(clone_dir: Path, repo: GitRepo) -> list[str]:
    """`git -C <clone dir> clone <repo root> --recurse-submodules`."""
    return ["git", "-C", str(clone_dir), "clone", str(repo.root), "--recurse-submodules"]


def reset_steps(build_dir: Path, repo: GitRepo) -> list[list[str]]:
    """Bring an existing clone to HEAD: origin, fetch, hard reset, clean, submodules."""
    at = ["git", "-C", str(build_dir)]
    return [[*at, "remote", "set-url", "origin", str(repo.root)],
            [*at, "fetch", "origin"],
            [*at, "reset", "--hard", repo.revision],
            [*at, "clean", "-fdx"],
            [*at, "submodule", "update", "--init"]]


def prepare_clone(service: str, project_dir: Path, repo: GitRepo,
                  say: Callable[[str], None]) -> Path:
    """Clone (or reset) the repository for a build and check it; return the build directory.

    Raises:
        CloneError: the clone failed even after deleting it and starting again.
    """
    clone_dir = clone_directory(service, project_dir)
    build_dir = build_directory(service, project_dir, repo)
    try:
        cloned = _clone(clone_dir, build_dir, repo, say)
        if not cloned:
            _reset(build_dir, repo, say)
        _validate(build_dir, repo)
    except CloneError as error:
        say(f"Error preparing clone: {error.message}, deleting and retrying...")
        shutil.rmtree(clone_dir, ignore_errors=True)
        if not _clone(clone_dir, build_dir, repo, say):
            raise CloneError(f"Failed to clone repo: {clone_dir} could not be emptied") from None
        _validate(build_dir, repo)
    return build_dir


def _clone(clone_dir: Path, build_dir: Path, repo: GitRepo, say: Callable[[str], None]) -> bool:
    # False: a clone is already there (reset it instead).
    say(f"Cloning repo into build directory `{build_dir}`...")
    clone_dir.mkdir(parents=True, exist_ok=True)
    run = local.run_local(clone_step(clone_dir, repo))
    if run.ok:
        return True
    if "already exists and is not an empty directory" in run.output:
        return False
    raise CloneError(f"Failed to clone repo: {run.tail(3)}")


def _reset(build_dir: Path, repo: GitRepo, say: Callable[[str], None]) -> None:
    say(f"Resetting local clone as `{build_dir}` already exists...")
    for step in reset_steps(build_dir, repo):
        run = local.run_local(step)
        if not run.ok:
            raise CloneError(f"Failed to clone repo: {run.tail(3)}")


def _validate(build_dir: Path, repo: GitRepo) -> None:
    status = _git(build_dir, "status", "--porcelain")
    revision = _git(build_dir, "rev-parse", "HEAD")
    if not (status.ok and revision.ok):
        failed = status if not status.ok else revision
        raise CloneError(f"Failed to validate clone: {failed.tail(3)}")
    if status.output.strip():
        raise CloneError(f"Clone in {build_dir} is dirty, {status.output.strip()}")
    if revision.output.strip() != repo.revision:
        raise CloneError(f"Clone in {build_dir} is not on the correct revision, expected "
                         f"`{repo.revision}` but got `{revision.output.strip()}`")


def _git(directory: Path, *args: str) -> local.LocalRun:
    return local.run_local(["git", "-C", str(directory), *args])
