"""Our runtime, installed by ``./install.sh``, inside a real Claude Code 2.1.328 session.

``hook_project`` (tests/conftest.py) is a fresh project carrying the settings.json that ``./install.sh``
wrote and its virtual environment; Claude Code runs the registered ``claude-hooks`` commands itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import Turn, bash

pytestmark = pytest.mark.e2e

DENY_REASON = "Deploying from a Claude session is off; ask the user to run the deploy script."

USER_HANDLER = f'''
"""A user's own policy module, as a user writes one (named in .claude/hooks.toml)."""

from lib import deny, hook


@hook("PreToolUse", matcher="Bash")
def no_deploys(event):
    if "deploy-to-prod" in str(event.tool_input.get("command", "")):
        return deny({DENY_REASON!r})
    return None
'''


def install_user_handler(project: Path) -> None:
    """Write the user's handler module and name it in ``.claude/hooks.toml``."""
    (project / ".claude" / "policies").mkdir(parents=True, exist_ok=True)
    (project / ".claude" / "policies" / "no_deploys.py").write_text(USER_HANDLER)
    (project / ".claude" / "hooks.toml").write_text(
        '[runtime]\nhandlers = [".claude/policies/no_deploys.py"]\n'
    )


def test_user_handler_denies_a_command_in_a_real_session(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    project = hook_project.path
    install_user_handler(project)
    script: list[Turn] = [
        bash("echo shipped > deploy-to-prod.txt"),
        bash("echo fine > fine.txt"),
        "Deploy refused; wrote fine.txt instead.",
    ]

    run = run_claude(project, "deploy, then write fine.txt", script)

    run.assert_success()
    assert not (project / "deploy-to-prod.txt").exists()
    assert (project / "fine.txt").read_text() == "fine\n"
    deploy_call, fine_call = run.last_request.tool_uses()
    assert [r.tool_use_id for r in run.turn_requests[1].tool_results()] == [deploy_call.id]
    run.assert_only_denial(deploy_call, DENY_REASON)
    allowed = run.tool_result_for(fine_call.id)
    assert (allowed.is_error, allowed.text) == (False, "(Bash completed with no output)")


def test_logs_record_the_session(run_claude: ClaudeRunner, hook_project: HookProject) -> None:
    project = hook_project.path
    install_user_handler(project)

    run = run_claude(project, "one denied call", [bash("echo deploy-to-prod"), "ok"])

    run.assert_success()
    assert run.session_id
    records = hook_project.log_records("hooks")
    assert records, f"no records in {project / '.claude' / 'logs' / 'hooks.jsonl'}"
    # one record per hook process, written by the runtime, carrying the session id
    session_records = [r for r in records if r["hook"] == "runtime" and r["session_id"] == run.session_id]
    for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd"):
        assert any(r["event"] == event for r in session_records), (
            f"no {event} record with session {run.session_id} in hooks.jsonl:\n"
            + "\n".join(json.dumps(r)[:300] for r in records)
        )
    [pre_tool] = [r for r in session_records if r["event"] == "PreToolUse"]
    assert pre_tool["fields"]["decision"] == "deny"
    assert pre_tool["tool_use_id"] == run.permission_denials[0]["tool_use_id"]
