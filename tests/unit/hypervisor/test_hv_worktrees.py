"""Worktrees against a real git repository in a temporary folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lib.hypervisor.worktrees import PhaseCheckouts, WorktreeError, Worktrees, git_checkout_problem

IDENTITY = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **IDENTITY}
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # no user git config: the hypervisor's identity is used
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "file.txt").write_text("base\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    claude = root / "app" / ".claude"
    (claude / "hooks-runtime").mkdir(parents=True)
    (claude / "settings.json").write_text("{}")
    (claude / "logs").mkdir()
    return root


def test_what_cannot_have_worktrees(tmp_path: Path) -> None:
    plain, fresh = tmp_path / "plain", tmp_path / "fresh"
    plain.mkdir()
    fresh.mkdir()
    assert "is not in a git repository" in str(git_checkout_problem(plain))
    with pytest.raises(WorktreeError, match="not in a git repository"):
        Worktrees(plain, tmp_path / "wt", "r")
    git(fresh, "init", "-q")
    assert "has no commit yet" in str(git_checkout_problem(fresh))


def test_a_phase_works_in_its_worktree_and_merges_back(repo: Path, tmp_path: Path) -> None:
    project = repo / "app"
    assert git_checkout_problem(project) is None
    trees = Worktrees(project, tmp_path / "state" / "worktrees" / "r1", "r1")
    work = trees.workdir("1")
    assert work == tmp_path / "state" / "worktrees" / "r1" / "phase_1" / "app"
    assert trees.workdir("1") == work  # one worktree per phase, kept across attempts
    assert (work / ".claude" / "settings.json").read_text() == "{}"
    assert (work / ".claude" / "hooks-runtime").is_symlink()
    assert trees.hook_env()["CLAUDE_HOOKS_LOG_DIR"] == str(project / ".claude" / "logs")
    (work / "new.txt").write_text("new\n")
    (work / ".claude" / "logs").mkdir()
    (work / ".claude" / "logs" / "hooks.jsonl").write_text("{}\n")
    outcome = trees.merge("1", "hypervisor: phase 1")
    assert outcome.merged and "hypervisor/r1/phase-1" in outcome.message
    assert (project / "new.txt").read_text() == "new\n"
    committed = git(repo, "show", "--name-only", "--format=", "HEAD^2")
    assert committed.split() == ["app/new.txt"]  # not the copied set-up, not the session's logs
    assert git(repo, "log", "-1", "--format=%an", "HEAD^2").strip() == "claude-hooks hypervisor"
    trees.remove("1")
    assert trees.kept("1") is None and not work.exists()
    assert "hypervisor/" not in git(repo, "branch", "--list")
    trees.remove("1")  # twice is harmless


def test_a_conflict_is_undone_and_the_worktree_kept(repo: Path, tmp_path: Path) -> None:
    project = repo / "app"
    trees = Worktrees(project, tmp_path / "wt", "r2")
    one, two = trees.workdir("1"), trees.workdir("2")
    (one / "file.txt").write_text("one\n")
    (two / "file.txt").write_text("two\n")
    assert trees.merge("1", "phase 1").merged
    clash = trees.merge("2", "phase 2")
    assert not clash.merged and clash.conflicts == ("app/file.txt",)
    assert "merge conflict in app/file.txt" in clash.message and str(trees.kept("2")) in clash.message
    assert (project / "file.txt").read_text() == "one\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert trees.kept("2") is not None


def test_a_merge_refused_by_local_changes_says_so(repo: Path, tmp_path: Path) -> None:
    project = repo / "app"
    trees = Worktrees(project, tmp_path / "wt", "r3")
    (trees.workdir("1") / "file.txt").write_text("theirs\n")
    (project / "file.txt").write_text("local, uncommitted\n")
    refused = trees.merge("1", "phase 1")
    assert not refused.merged and refused.message.startswith("the merge was refused: ")
    assert (project / "file.txt").read_text() == "local, uncommitted\n"


def test_a_failing_git_command_names_itself(repo: Path, tmp_path: Path) -> None:
    trees = Worktrees(repo / "app", tmp_path / "wt", "r4")
    trees.workdir("1")
    with pytest.raises(WorktreeError, match="git worktree add"):
        Worktrees(repo / "app", tmp_path / "wt", "r4").workdir("1")  # its branch exists already


def test_phase_checkouts_isolate_only_when_wanted_and_possible(repo: Path, tmp_path: Path) -> None:
    said: list[str] = []
    project = repo / "app"
    off = PhaseCheckouts.open(project, tmp_path / "wt0", "r0", wanted=False, say=said.append)
    assert off.workdir("1", isolate=True) == project and off.hook_env(project) == {}
    assert off.merge_back("1", "m") is None and off.kept("1") is None
    plain = tmp_path / "plain"
    plain.mkdir()
    no_git = PhaseCheckouts.open(plain, tmp_path / "wt1", "r1", wanted=True, say=said.append)
    assert no_git.workdir("1", isolate=True) == plain
    assert "share the project folder" in said[-1] and "not in a git repository" in said[-1]
    on = PhaseCheckouts.open(project, tmp_path / "wt2", "r2", wanted=True, say=said.append)
    assert on.workdir("1", isolate=False) == project
    work = on.workdir("1", isolate=True)
    assert work != project and on.hook_env(work)["CLAUDE_HOOKS_STATE_DIR"].endswith(".claude/state")
    (work / "x.txt").write_text("x\n")
    assert on.merge_back("1", "phase 1") is None and (project / "x.txt").exists()
    assert "merged branch hypervisor/r2/phase-1" in said[-1]
    # A worktree that cannot be made (its branch exists): the phase works in place, with a warning.
    on.workdir("2", isolate=True)
    clash = PhaseCheckouts.open(project, tmp_path / "wt3", "r2", wanted=True, say=said.append)
    assert clash.workdir("2", isolate=True) == project and "cannot make its worktree" in said[-1]
    on.close()
    assert (tmp_path / "wt2").is_dir()  # phase 2's worktree is still there: kept
    on.merge_back("2", "phase 2")
    on.close()
    assert not (tmp_path / "wt2").exists()
