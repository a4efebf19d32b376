"""The git branch checked out where a command runs (for force-push rules), read from ``.git/HEAD``.

No ``git`` subprocess: the hook reads at most a few small files. Worktrees and submodules, whose
``.git`` is a file (``gitdir: <path>``), are followed.
"""

from __future__ import annotations

import os

__all__ = ["current_branch"]

_MAX_LEVELS = 64


def _git_dir(start: str) -> str | None:
    path = os.path.abspath(start)
    for _ in range(_MAX_LEVELS):
        candidate = os.path.join(path, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):
            try:
                with open(candidate, encoding="utf-8", errors="replace") as f:
                    line = f.read(4096).strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                target = line[len("gitdir:") :].strip()
                return target if os.path.isabs(target) else os.path.normpath(os.path.join(path, target))
            return None
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    return None


def current_branch(start: str) -> str | None:
    """The branch name HEAD points to for the repository containing ``start``; ``None`` when
    detached, not a repository, or unreadable."""
    git_dir = _git_dir(start)
    if git_dir is None:
        return None
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8", errors="replace") as f:
            head = f.read(1024).strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    if not head.startswith(prefix):
        return None
    return head[len(prefix) :] or None
