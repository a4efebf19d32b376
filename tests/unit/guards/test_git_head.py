"""Which branch a command runs on, read from ``.git/HEAD`` (for the force-push rules)."""

from __future__ import annotations

from pathlib import Path

from lib.guards.git_head import current_branch


def test_a_worktree_file_points_at_its_git_dir(tmp_path: Path) -> None:
    real = tmp_path / "main-repo" / ".git" / "worktrees" / "feature"
    real.mkdir(parents=True)
    (real / "HEAD").write_text("ref: refs/heads/feature-x\n")
    tree = tmp_path / "feature"
    (tree / "sub").mkdir(parents=True)
    (tree / ".git").write_text(f"gitdir: {real}\n")
    assert current_branch(str(tree / "sub")) == "feature-x"


def test_a_git_file_that_is_not_a_pointer_or_no_repo_at_all_gives_no_branch(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / ".git").write_text("not a gitdir line\n")
    assert current_branch(str(odd)) is None
    assert current_branch("/") is None
