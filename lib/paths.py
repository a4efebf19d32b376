"""Where a project's config, state and logs live.

The project is ``$CLAUDE_PROJECT_DIR`` (Claude Code sets it for every hook; it does not follow
``cd``), else the process's working directory. ``CLAUDE_HOOKS_STATE_DIR``, ``CLAUDE_HOOKS_LOG_DIR``
and ``CLAUDE_HOOKS_CONFIG`` override the defaults below it.
"""

from __future__ import annotations

import os

__all__ = ["Paths", "find_project", "resolve_paths"]


class Paths:
    """The locations one hook invocation reads and writes."""

    __slots__ = ("claude_dir", "config_file", "log_dir", "project_dir", "state_dir")

    def __init__(
        self,
        project_dir: str,
        *,
        state_dir: str | None = None,
        log_dir: str | None = None,
        config_file: str | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.claude_dir = os.path.join(project_dir, ".claude")
        self.state_dir = state_dir or os.path.join(self.claude_dir, "state")
        self.log_dir = log_dir or os.path.join(self.claude_dir, "logs")
        self.config_file = config_file or os.path.join(self.claude_dir, "hooks.toml")

    def __repr__(self) -> str:
        return (
            f"Paths(project_dir={self.project_dir!r}, state_dir={self.state_dir!r}, log_dir={self.log_dir!r})"
        )


def resolve_paths(project_dir: str | None = None, environ: dict[str, str] | None = None) -> Paths:
    """Resolve the paths from ``project_dir`` (or the environment) and the override variables."""
    env = os.environ if environ is None else environ
    root = project_dir or env.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    root = os.path.abspath(root)

    def _abs(value: str | None) -> str | None:
        return os.path.join(root, value) if value and not os.path.isabs(value) else value

    return Paths(
        root,
        state_dir=_abs(env.get("CLAUDE_HOOKS_STATE_DIR")),
        log_dir=_abs(env.get("CLAUDE_HOOKS_LOG_DIR")),
        config_file=_abs(env.get("CLAUDE_HOOKS_CONFIG")),
    )


def find_project(start: str, home: str | None = None) -> str | None:
    """The nearest folder from ``start`` upward that holds a ``.claude/`` folder, as git finds its
    repository; ``None`` when there is none. ``home`` is skipped: ``~/.claude`` is Claude Code's
    per-user folder, not a project."""
    current = os.path.abspath(start)
    home = os.path.abspath(home) if home else None
    while True:
        if current != home and os.path.isdir(os.path.join(current, ".claude")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
