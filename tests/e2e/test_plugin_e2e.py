"""The Claude Code plugin route, end to end with the real CLI.

A user adds this repository as a plugin marketplace, installs the ``hooks-runtime`` plugin, and starts
a session: the plugin makes its own Python environment on first use (in the plugin's data dir), its
hooks deny ``rm -rf ~`` and leave logs in the project's ``.claude/logs``; ``claude plugin uninstall``
leaves no hook behind and deletes the plugin's data dir.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from claude_session import ClaudeRunner
from mock_anthropic import bash

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "hooks-runtime@hooks-runtime"


def checkout_copy(dest: Path) -> Path:
    """The files a fresh clone of this repository has (tracked and new, as in the working tree)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        source = REPO / rel
        if not source.is_file() or source.is_symlink():
            continue  # deleted in the working tree, or a link such as tests/e2e/node_modules
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def plugin_cli(run_claude: ClaudeRunner, *args: str) -> subprocess.CompletedProcess[str]:
    """``claude plugin ARGS`` with the test's HOME and clean environment."""
    return subprocess.run(
        [str(run_claude.claude_bin), "plugin", *args],
        env=run_claude.env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_plugin_marketplace_install_session_uninstall(
    run_claude: ClaudeRunner, claude_home: Path, project: Path, tmp_path: Path
) -> None:
    marketplace = checkout_copy(tmp_path / "checkout")
    validated = plugin_cli(run_claude, "validate", "--strict", str(marketplace))
    assert validated.returncode == 0, validated.stdout + validated.stderr

    added = plugin_cli(run_claude, "marketplace", "add", str(marketplace))
    assert added.returncode == 0, added.stdout + added.stderr
    installed = plugin_cli(run_claude, "install", PLUGIN)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # First session: SessionStart sets up the plugin's environment, then the guard denies rm -rf ~.
    first = run_claude(project, "clean up my home", [bash("rm -rf ~"), "Refused."], timeout=600)
    first.assert_success()
    call = first.last_request.tool_uses()[0]
    denial = first.tool_result_for(call.id)
    assert denial.is_error and "PreToolUse:Bash hook error" in denial.text, first.describe()
    assert [d["tool_use_id"] for d in first.permission_denials] == [call.id]
    assert claude_home.is_dir()

    data_dirs = sorted((claude_home / ".claude" / "plugins" / "data").glob("hooks-runtime*"))
    assert len(data_dirs) == 1, list((claude_home / ".claude" / "plugins").rglob("*"))[:40]
    runtime = data_dirs[0] / "runtime"
    assert (runtime / "bin" / "claude-hooks").is_file()

    logs = project / ".claude" / "logs" / "hooks.jsonl"
    records = [json.loads(line) for line in logs.read_text().splitlines()]
    events = {r.get("event") for r in records if r.get("session_id") == first.session_id}
    assert {"SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd"} <= events
    denied = [
        r
        for r in records
        if r.get("hook") == "runtime"
        and r.get("event") == "PreToolUse"
        and r.get("fields", {}).get("decision") == "deny"
    ]
    assert [r["fields"]["tool_input"]["command"] for r in denied] == ["rm -rf ~"]
    assert not (project / ".claude" / "settings.json").exists()  # the plugin route writes no settings

    # A later session runs from the ready environment: allowed commands run.
    second = run_claude(project, "say hi", [bash("echo hi"), "done"], timeout=120)
    second.assert_success()
    assert second.tool_results()[0].text == "hi"

    removed = plugin_cli(run_claude, "uninstall", PLUGIN)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not data_dirs[0].exists()
    before = logs.read_text()
    third = run_claude(project, "clean up", [bash("echo still-here"), "done"], timeout=120)
    third.assert_success()
    assert logs.read_text() == before  # no hook of ours ran
    listed = plugin_cli(run_claude, "list")
    assert "hooks-runtime@" not in listed.stdout
