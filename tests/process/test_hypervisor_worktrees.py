"""Parallel Claude phases each work in their own git worktree; their changes merge back after
they pass; a conflict stops the phase and keeps its worktree. (A stand-in ``claude`` writes the
files; the real CLI is in tests/e2e/test_hypervisor_e2e.py.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hvkit import FakeClaude, Workspace, assert_ok, install_fake_claude

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    import os

    env = {**os.environ, **GIT_ENV, "HOME": str(cwd.parent)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Workspace, FakeClaude]:
    """A git checkout, the stand-in claude, and a plan of two Claude phases in a parallel group
    (parts 1 and 2), then a join phase whose validation needs both parts' files, a.txt and b.txt."""
    ws = Workspace(tmp_path, plan_source=None)
    git(ws.project, "init", "-q", "-b", "main")
    (ws.project / "shared.txt").write_text("base\n")
    git(ws.project, "add", "shared.txt")
    git(ws.project, "commit", "-qm", "base")
    binary, env = install_fake_claude(tmp_path)
    env.update(GIT_ENV, HOME=str(tmp_path))
    for n in ("1", "2"):
        ws.write_phase(f"{n}.md", f"phase: {n}\ntitle: Part {n}\nparallel_group: parts", f"Write part {n}\n")
    ws.write_phase("3.md", "phase: 3\ntitle: Join\ndepends_on: [1, 2]\nvalidation_script: check.py", "Join\n")
    (ws.plan / "check.py").write_text(
        "import pathlib, sys\nsys.exit(0 if pathlib.Path('a.txt').exists() and pathlib.Path('b.txt').exists() else 1)\n"
    )
    return ws, (binary, env)


def calls(claude: FakeClaude) -> dict[str, dict[str, object]]:
    out = {}
    for path in Path(claude[1]["FAKE_PROMPTS"]).glob("call-*.json"):
        out[path.name.split("-")[1]] = json.loads(path.read_text())
    return out


def test_parallel_claude_phases_run_in_their_own_worktrees_and_merge_back(
    parts: tuple[Workspace, FakeClaude],
) -> None:
    ws, claude = parts
    script = {"1": [{"touch": "a.txt", "sleep": 0.5}], "2": [{"touch": "b.txt", "sleep": 0.5}], "3": [{}]}
    proc = ws.run_claude(claude, script, "--mode", "parallel")
    assert_ok(proc)
    seen = calls(claude)
    one, two, three = (Path(str(seen[p]["cwd"])) for p in ("1", "2", "3"))
    assert one != two and ws.project not in (one, two)
    assert one.parent == two.parent == ws.state / "worktrees" / str(seen["1"]["env"]["HYPERVISOR_RUN_ID"])  # type: ignore[index]
    # Both merged into the project's checkout; the worktrees and branches are gone.
    assert (ws.project / "a.txt").read_text() == "done\n" and (ws.project / "b.txt").exists()
    log = git(ws.project, "log", "--format=%s")
    assert "hypervisor: phase 1 (Part 1)" in log and "hypervisor: phase 2 (Part 2)" in log
    assert not one.exists() and not two.exists() and not one.parent.exists()
    assert "hypervisor/" not in git(ws.project, "branch", "--list")
    assert "worktree" in proc.stdout and "merged branch" in proc.stdout
    # The join phase (a Claude phase too, alone in its wave) saw both parts.
    assert three != ws.project  # parallel mode isolates it as well; it merged with nothing to merge
    assert ws.checkpoint("3")["status"] == "passed"


def test_a_merge_conflict_stops_the_phase_and_keeps_its_worktree(
    parts: tuple[Workspace, FakeClaude],
) -> None:
    ws, claude = parts
    script = {
        "1": [{"touch": "shared.txt", "text": "from one"}],
        "2": [{"touch": "shared.txt", "text": "from two", "sleep": 1.0}],
        "3": [{}],
    }
    proc = ws.run_claude(claude, script, "--mode", "parallel")
    assert_ok(proc, 1)
    assert (ws.project / "shared.txt").read_text() == "from one\n"  # the first merge stands
    cp = ws.checkpoint("2")
    assert cp["status"] == "failed" and cp["error_class"] == "merge_conflict" and cp["attempts"] == 1
    assert "merge conflict in shared.txt" in cp["error"]
    kept = Path(str(calls(claude)["2"]["cwd"]))
    assert kept.is_dir() and (kept / "shared.txt").read_text() == "from two\n"
    assert "git merge hypervisor/" in cp["error"] and str(kept) in cp["error"]
    changes = [
        line for line in git(ws.project, "status", "--porcelain").splitlines() if ".claude/" not in line
    ]
    assert changes == []  # the failed merge was undone
    assert "its worktree is kept" not in proc.stdout  # the conflict message already says where
    assert not (ws.state / "checkpoints" / "phase_3.toon").exists()  # it depends on the failed phase


def test_worktrees_can_be_turned_off_and_need_a_git_checkout(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    for n in ("1", "2"):
        empty_ws.write_phase(f"{n}.md", f"phase: {n}\nparallel_group: parts", "x\n")
    proc = empty_ws.run_claude(fake_claude, {"1": [{}], "2": [{}]}, "--mode", "parallel")
    assert_ok(proc)
    assert "is not in a git repository" in proc.stdout
    assert {str(c["cwd"]) for c in calls(fake_claude).values()} == {str(empty_ws.project)}
