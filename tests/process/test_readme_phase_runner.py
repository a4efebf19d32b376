"""The README's phase-runner example, run as written: it works and leaves nothing in the clone."""

from __future__ import annotations

import subprocess
import sys

from hookkit import REPO


def readme_example() -> str:
    """The shell lines of the README's "The phase runner" example block."""
    text = (REPO / "README.md").read_text()
    section = text.split("## The phase runner", 1)[1].split("\n## ", 1)[0]
    lines = [line[4:] for line in section.splitlines() if line.startswith("    ")]
    assert any("--executor shell" in line for line in lines), section
    return "\n".join(lines)


def status() -> set[str]:
    """Every file and folder of the clone outside .venv, .git and caches."""
    skip = {
        ".venv",
        ".git",
        "node_modules",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
    }
    return {
        str(p.relative_to(REPO))
        for p in REPO.rglob("*")
        if not skip & set(p.relative_to(REPO).parts) and not p.name.startswith(".coverage")
    }


def test_the_phase_runner_example_runs_and_leaves_no_file_in_the_repository() -> None:
    before = status()
    script = "set -e\n" + readme_example().replace(".venv/bin/python", sys.executable)
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout.lower() or "6/6" in result.stdout, result.stdout
    assert status() == before
