"""``git add -A`` in a project must not commit the hooks' logs and state (they hold every command
Claude ran): install.sh gives ``.claude/logs``, ``.claude/state`` and ``.claude/hooks-runtime`` a
``.gitignore`` of their own, leaves the user's files alone, and uninstall keeps logs and state ignored."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hookkit import REPO, HookProject
from seckit import Fire

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "install.sh"), *args], capture_output=True, text=True, timeout=600
    )


def test_logs_state_and_runtime_stay_out_of_git(project: HookProject, fire: Fire) -> None:
    root = project.path
    assert _git(root, "init", "-q").returncode == 0
    user_ignore = "node_modules/\n*.log\n"
    (root / ".gitignore").write_text(user_ignore)
    (root / "app.py").write_text("print('hi')\n")

    installed = _install(str(root))
    assert installed.returncode == 0, installed.stderr
    assert "git-ignored" in installed.stdout
    fire("SessionStart")
    fire("PreToolUse", "Bash", tool_input={"command": "ls"})
    fire("PostToolUseFailure", "Bash", error="Exit code 1")
    fire("Stop")
    assert (root / ".claude" / "logs" / "hooks.jsonl").exists() and (root / ".claude" / "state").is_dir()

    assert _git(root, "add", "-A").returncode == 0
    staged = _git(root, "diff", "--cached", "--name-only").stdout.split()
    assert ".claude/settings.json" in staged and "app.py" in staged
    leaked = [p for p in staged if p.startswith((".claude/logs", ".claude/state", ".claude/hooks-runtime"))]
    if (root / ".claude" / "hooks-runtime").is_symlink():  # this test's project shares the installed venv
        leaked.remove(".claude/hooks-runtime")
    assert leaked == []
    assert (root / ".gitignore").read_text() == user_ignore  # the user's own file untouched

    removed = _install("--uninstall", str(root))
    assert removed.returncode == 0, removed.stderr
    assert "still git-ignored" in removed.stdout
    assert _git(root, "check-ignore", "-q", ".claude/logs/hooks.jsonl").returncode == 0
    assert _git(root, "check-ignore", "-q", ".claude/state/breakers.json").returncode == 0
    assert (root / ".gitignore").read_text() == user_ignore


def test_the_installed_runtime_ignores_itself(installed_runtime: Path) -> None:
    venv = installed_runtime / ".claude" / "hooks-runtime"
    assert "*" in (venv / ".gitignore").read_text().splitlines()
    for folder in ("logs", "state"):
        assert "*" in (installed_runtime / ".claude" / folder / ".gitignore").read_text().splitlines()


def test_a_users_own_gitignore_in_those_folders_is_kept(project: HookProject) -> None:
    from lib.installer import ignore_runtime_dirs

    own = project.path / ".claude" / "logs" / ".gitignore"
    own.parent.mkdir(parents=True)
    own.write_text("# mine\n*.jsonl\n")
    written = ignore_runtime_dirs(str(project.path))
    assert own.read_text() == "# mine\n*.jsonl\n"
    assert written == [
        str(project.path / ".claude" / "state" / ".gitignore")
    ]  # hooks-runtime: a symlink here
