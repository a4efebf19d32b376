"""Isolated checkouts for phases that run at the same time: one ``git worktree`` per Claude phase.

In parallel mode each Claude phase works in ``<state dir>/worktrees/<run id>/phase_<id>`` on its own
branch ``hypervisor/<run id>/phase-<id>``, made from the project's ``HEAD`` when the phase starts.
After the phase passed its validation, its changes are committed on that branch and merged into
the project's checkout (a phase starts only after its dependencies passed, so merges happen in
dependency order). A merge conflict is not retried: the merge is undone, the phase fails with the
conflicting files named, and the worktree and branch are left for the user. A merged worktree is
removed with its branch.

The project's Claude Code set-up reaches the worktree: its ``.claude`` settings are copied in, the
hook runtime is linked, and ``CLAUDE_HOOKS_LOG_DIR``/``STATE_DIR``/``CONFIG`` point the hooks at the
project's own logs, state and config, so the session's events land on the bus the run watches.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MergeOutcome", "PhaseCheckouts", "WorktreeError", "Worktrees", "git_checkout_problem"]

_SHARED_CLAUDE_FILES = ("settings.json", "settings.local.json", "hooks.toml")
_IDENTITY = {
    "GIT_AUTHOR_NAME": "claude-hooks hypervisor",
    "GIT_AUTHOR_EMAIL": "hypervisor@localhost",
    "GIT_COMMITTER_NAME": "claude-hooks hypervisor",
    "GIT_COMMITTER_EMAIL": "hypervisor@localhost",
}


class WorktreeError(Exception):
    """A git command for a worktree failed; the message names the command and git's answer."""


def _git(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )


def git_checkout_problem(project_dir: Path) -> str | None:
    """Why ``project_dir`` cannot have worktrees (not a git checkout, no commit yet), or ``None``."""
    if shutil.which("git") is None:
        return "git is not installed"
    top = _git(["rev-parse", "--show-toplevel"], project_dir)
    if top.returncode != 0:
        return f"{project_dir} is not in a git repository"
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD"], project_dir)
    if head.returncode != 0:
        return f"the git repository at {top.stdout.strip()} has no commit yet"
    return None


@dataclass(frozen=True)
class MergeOutcome:
    """How merging a phase's branch back went."""

    merged: bool
    message: str
    conflicts: tuple[str, ...] = ()


@dataclass
class _Tree:
    path: Path
    branch: str
    created: list[str] = field(default_factory=list[str])


class Worktrees:
    """The worktrees of one run (``root`` = ``<state dir>/worktrees/<run id>``)."""

    def __init__(self, project_dir: Path, root: Path, run_id: str) -> None:
        top = _git(["rev-parse", "--show-toplevel"], project_dir)
        if top.returncode != 0:
            raise WorktreeError(f"{project_dir} is not in a git repository: {top.stderr.strip()}")
        self.toplevel = Path(top.stdout.strip()).resolve()
        self.project_dir = project_dir.resolve()
        self.inside = self.project_dir.relative_to(self.toplevel)
        self.root = root
        self.run_id = run_id
        self.trees: dict[str, _Tree] = {}
        self._env = self._git_env()

    def _git_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if _git(["config", "user.email"], self.toplevel).returncode != 0:
            for key, value in _IDENTITY.items():
                env.setdefault(key, value)
        return env

    def _run(self, args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return _git(args, cwd, self._env)

    def _check(self, args: Sequence[str], cwd: Path) -> str:
        proc = self._run(args, cwd)
        if proc.returncode != 0:
            raise WorktreeError(
                f"`git {' '.join(args)}` failed in {cwd}: {(proc.stderr or proc.stdout).strip()}"
            )
        return proc.stdout

    def branch(self, phase_id: str) -> str:
        """The branch of ``phase_id``'s worktree."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in phase_id)
        return f"hypervisor/{self.run_id}/phase-{safe}"

    def workdir(self, phase_id: str) -> Path:
        """Where the phase runs: the worktree (or an existing one), at the project's place in it."""
        tree = self.trees.get(phase_id)
        if tree is None:
            tree = self._create(phase_id)
        return tree.path / self.inside

    def _create(self, phase_id: str) -> _Tree:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in phase_id)
        path = self.root / f"phase_{safe}"
        branch = self.branch(phase_id)
        self.root.mkdir(parents=True, exist_ok=True)
        self._check(["worktree", "add", "-b", branch, str(path), "HEAD"], self.toplevel)
        tree = _Tree(path, branch)
        self._share_claude_setup(tree)
        self.trees[phase_id] = tree
        return tree

    def _share_claude_setup(self, tree: _Tree) -> None:
        source = self.project_dir / ".claude"
        if not source.is_dir():
            return
        target = tree.path / self.inside / ".claude"
        target.mkdir(parents=True, exist_ok=True)
        for name in _SHARED_CLAUDE_FILES:
            src, dst = source / name, target / name
            if src.is_file() and not src.is_symlink() and not dst.exists():
                shutil.copyfile(src, dst)
                tree.created.append(str(dst.relative_to(tree.path)))
        runtime = source / "hooks-runtime"
        link = target / "hooks-runtime"
        if runtime.is_dir() and not link.exists():
            link.symlink_to(runtime, target_is_directory=True)
            tree.created.append(str(link.relative_to(tree.path)))

    def hook_env(self) -> dict[str, str]:
        """Variables that point a worktree session's hooks at the project's logs, state and config."""
        from lib.paths import resolve_paths

        paths = resolve_paths(str(self.project_dir))
        return {
            "CLAUDE_HOOKS_LOG_DIR": str(paths.log_dir),
            "CLAUDE_HOOKS_STATE_DIR": str(paths.state_dir),
            "CLAUDE_HOOKS_CONFIG": str(paths.config_file),
        }

    def merge(self, phase_id: str, message: str) -> MergeOutcome:
        """Commit the phase's changes on its branch and merge the branch into the project's checkout."""
        tree = self.trees[phase_id]
        excluded = [
            *tree.created,
            f"{self.inside / '.claude' / 'logs'}",
            f"{self.inside / '.claude' / 'state'}",
        ]
        pathspec = [".", *(f":(exclude){p}" for p in excluded)]
        self._check(["add", "-A", "--", *pathspec], tree.path)
        if self._run(["diff", "--cached", "--quiet"], tree.path).returncode != 0:
            self._check(["commit", "-q", "--no-verify", "-m", message], tree.path)
        merge = self._run(["merge", "--no-ff", "--no-edit", "-m", message, tree.branch], self.toplevel)
        if merge.returncode == 0:
            return MergeOutcome(True, f"merged branch {tree.branch}")
        conflicts = tuple(self._run(["diff", "--name-only", "--diff-filter=U"], self.toplevel).stdout.split())
        self._run(["merge", "--abort"], self.toplevel)
        detail = (merge.stdout + merge.stderr).strip().splitlines()
        if conflicts:
            why = f"merge conflict in {', '.join(conflicts)}"
        else:
            why = "the merge was refused: " + (detail[-1] if detail else "git merge failed")
        return MergeOutcome(
            False,
            f"{why}; the phase's work is kept in the worktree {tree.path} on branch {tree.branch}: "
            f"merge it by hand (git merge {tree.branch}), then run again with --resume",
            conflicts,
        )

    def remove(self, phase_id: str) -> None:
        """Delete a merged worktree and its branch."""
        tree = self.trees.pop(phase_id, None)
        if tree is None:
            return
        self._run(["worktree", "remove", "--force", str(tree.path)], self.toplevel)
        self._run(["branch", "-D", tree.branch], self.toplevel)

    def kept(self, phase_id: str) -> Path | None:
        """The worktree left for the user (a failed or conflicting phase), if any."""
        tree = self.trees.get(phase_id)
        return tree.path if tree is not None else None


class PhaseCheckouts:
    """Where each phase of a run works: the project folder, or — parallel Claude phases of a git
    project — its own worktree, merged back when it passed. Problems are said through ``say`` and
    the phase then works in the project folder."""

    def __init__(self, project_dir: Path, trees: Worktrees | None, say: Callable[[str], None]) -> None:
        self.project_dir = project_dir
        self.trees = trees
        self.say = say

    @classmethod
    def open(
        cls, project_dir: Path, root: Path, run_id: str, *, wanted: bool, say: Callable[[str], None]
    ) -> PhaseCheckouts:
        """Worktrees under ``root`` when ``wanted`` (parallel Claude phases) and possible."""
        if not wanted:
            return cls(project_dir, None, say)
        problem = git_checkout_problem(project_dir)
        if problem is not None:
            say(
                f"note: parallel Claude phases share the project folder: {problem} "
                "(a git checkout gives each its own worktree)"
            )
            return cls(project_dir, None, say)
        try:
            return cls(project_dir, Worktrees(project_dir, root, run_id), say)
        except (WorktreeError, ValueError) as exc:
            say(f"note: parallel Claude phases share the project folder: {exc}")
            return cls(project_dir, None, say)

    def workdir(self, phase_id: str, *, isolate: bool) -> Path:
        """The phase's worktree when ``isolate`` (a Claude phase) and worktrees are on, else the project."""
        if self.trees is None or not isolate:
            return self.project_dir
        try:
            return self.trees.workdir(phase_id)
        except (WorktreeError, OSError) as exc:
            self.say(f"warning: phase {phase_id} runs in the project folder: cannot make its worktree: {exc}")
            return self.project_dir

    def hook_env(self, workdir: Path) -> dict[str, str]:
        """What a session in ``workdir`` needs to report to the project's hooks state (empty in place)."""
        if self.trees is None or workdir == self.project_dir:
            return {}
        return self.trees.hook_env()

    def merge_back(self, phase_id: str, message: str) -> str | None:
        """Merge a passed phase's worktree into the project; the error when that failed."""
        if self.trees is None or self.trees.kept(phase_id) is None:
            return None
        try:
            outcome = self.trees.merge(phase_id, message)
        except WorktreeError as exc:
            return f"cannot merge the phase's worktree: {exc}"
        if not outcome.merged:
            return outcome.message
        self.trees.remove(phase_id)
        self.say(f"phase {phase_id}: {outcome.message} into {self.project_dir}")
        return None

    def kept(self, phase_id: str) -> Path | None:
        """The worktree left for the user (a failed phase), if any."""
        return self.trees.kept(phase_id) if self.trees is not None else None

    def close(self) -> None:
        """Remove the run's worktree folder when every worktree in it was merged and removed."""
        if self.trees is not None:
            with contextlib.suppress(OSError):
                self.trees.root.rmdir()  # only when empty: kept worktrees stay
