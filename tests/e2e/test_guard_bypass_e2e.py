"""The three guard bypasses found from outside, closed with the real CLI driving the installed hooks.

Each runs on the pinned CLI and, for the two that every release has, on the previous pin too
(``tests/e2e/previous``, installed by ``install_cli.sh``), so a change in how a new CLI treats a hook's
answer shows up here first:

- a lone UTF-16 surrogate in a Bash command (the hook used to crash writing its answer: exit 1, no
  output, and Claude Code ran the command);
- a huge command (the guard used to take minutes; Claude Code cancelled the hook and ran it);
- an inline ``!`cat .env` `` in a slash command (``PreSkillShellCommand``, CLI 2.1.332).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from claude_session import E2E_DIR, PINNED_VERSION, ClaudeRunner, cli_version
from hookkit import HookProject
from mock_anthropic import MockAnthropic, bash

pytestmark = pytest.mark.e2e

PREVIOUS_DIR = E2E_DIR / "previous"
PREVIOUS_VERSION: str = json.loads((PREVIOUS_DIR / "package.json").read_text())["dependencies"][
    "@anthropic-ai/claude-code"
]
SECRET = "sk-live-e2e-0123456789abcdef"


@pytest.fixture(params=["pinned", "previous"])
def any_cli(
    request: pytest.FixtureRequest, claude_bin: Path, mock_api: MockAnthropic, claude_home: Path
) -> ClaudeRunner:
    """A runner on the pinned CLI, then on the previous pin."""
    if request.param == "pinned":
        return ClaudeRunner(claude_bin, mock_api, claude_home)
    path = PREVIOUS_DIR / "node_modules" / ".bin" / "claude"
    assert path.is_file(), f"{path} missing: run tests/e2e/install_cli.sh (it installs the previous pin too)"
    assert cli_version(path).split(" ", 1)[0] == PREVIOUS_VERSION, (
        f"{path} is not {PREVIOUS_VERSION}: run tests/e2e/install_cli.sh"
    )
    return ClaudeRunner(path, mock_api, claude_home)


def git_project(hook_project: HookProject) -> Path:
    project = hook_project.path
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def test_lone_surrogate_does_not_let_a_delete_through(
    any_cli: ClaudeRunner, hook_project: HookProject
) -> None:
    project = git_project(hook_project)
    run = any_cli(project, "tidy up", [bash("rm -rf .git # \ud800"), "done"])
    run.assert_success()
    assert (project / ".git" / "HEAD").exists(), run.describe()
    (denial,) = run.permission_denials
    result = run.tool_result_for(denial["tool_use_id"])
    assert result.is_error and "rm-git-dir" in result.text, run.describe()


def test_huge_command_is_judged_before_the_hook_timeout(
    any_cli: ClaudeRunner, hook_project: HookProject
) -> None:
    project = git_project(hook_project)
    command = "rm -rf .git; echo " + " ".join(["$AVERYLONGVARIABLENAME_REPEATED"] * 2000) + " word" * 30_000
    run = any_cli(project, "tidy up", [bash(command), "done"], timeout=120)
    run.assert_success()
    assert (project / ".git" / "HEAD").exists(), run.describe()
    assert len(run.permission_denials) == 1, run.describe()


def test_inline_shell_in_a_slash_command_is_guarded(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    assert PINNED_VERSION != PREVIOUS_VERSION
    project = hook_project.path
    (project / ".env").write_text(f"API_KEY={SECRET}\n")
    commands = project / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "peek.md").write_text(
        "---\nallowed-tools: Bash(cat:*)\ndescription: show the settings\n---\n"
        "Settings: !`cat .env`\n\nSummarise them.\n"
    )
    (commands / "status.md").write_text(
        "---\nallowed-tools: Bash(echo:*)\ndescription: status\n---\nStatus: !`echo all-green`\n"
    )

    peek = run_claude(project, "/peek", ["nothing to show"], strict=False)
    seen = " ".join(r.text() for r in peek.requests) + peek.stdout
    assert SECRET not in seen, peek.describe()
    decisions = [e for e in hook_project.log_records("events") if e.get("topic") == "guard.decision"]
    assert any(
        e["payload"].get("decision") == "deny" and ".env" in str(e["payload"].get("reason"))
        for e in decisions
    ), decisions

    status = run_claude(project, "/status", ["ok"])
    status.assert_success()
    assert "all-green" in status.requests[0].text(), status.describe()
