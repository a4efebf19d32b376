"""The circuit breaker inside real Claude Code 2.1.328 sessions (the runtime installed by ./install.sh).

A scripted model retries a failing Bash command; after ``max_failures`` failures our PreToolUse hook
denies the next calls, the command stops running, and a second session in the same project still
finds the breaker open.
"""

from __future__ import annotations

import json
import time

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import bash, retry_while_failing

pytestmark = pytest.mark.e2e

CONFIG = """
[runtime]
handlers = ["hooks.breaker"]

[breaker]
max_failures = 3
cooldown_seconds = 600
"""

FAILING = "echo attempt >> attempts.log; echo 'fatal: remote unreachable' >&2; exit 7"


def test_repeated_failures_open_the_breaker_and_a_second_session_still_sees_it(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    project = hook_project.path
    (project / ".claude" / "hooks.toml").write_text(CONFIG)

    first = run_claude(
        project, "push the release", retry_while_failing(bash(FAILING), attempts=6), timeout=120
    )

    first.assert_success()
    results = first.tool_results()
    assert len(results) == 6, first.describe()
    assert (project / "attempts.log").read_text().splitlines() == ["attempt"] * 3  # ran 3 times, not 6
    for failed in results[:3]:
        assert failed.is_error and failed.text.startswith("Exit code 7"), first.describe()
    for denied in results[3:]:
        assert denied.is_error, first.describe()
        assert denied.text.startswith(
            "PreToolUse:Bash hook error: Circuit breaker open: the Bash tool failed 3 times in a row. "
            "Last error: Exit code 7 … fatal: remote unreachable. It is blocked and may be retried in "
        ), denied.text
        assert "try a different approach" in denied.text
    calls = first.last_request.tool_uses()
    assert [d["tool_use_id"] for d in first.permission_denials] == [c.id for c in calls[3:]]
    # the failure that opened the breaker told the model right away, next to its tool result
    assert "has now failed 3 times in a row" in json.dumps(first.turn_requests[3].messages)

    second = run_claude(project, "try again", [bash("echo hello"), "Still blocked."], timeout=120)

    second.assert_success()
    assert second.session_id and second.session_id != first.session_id
    [denied] = second.tool_results()
    assert denied.is_error and denied.text.startswith("PreToolUse:Bash hook error: Circuit breaker open")
    assert len(second.permission_denials) == 1

    events = [r["topic"] for r in hook_project.log_records("events")]
    assert events.count("breaker.opened") == 1
    assert events.count("tool.denied") == 4


DENY_POLICY = """
from lib import deny, hook


@hook("PreToolUse", matcher="Bash")
def no_markers(event):
    if "DENY-ME" in str(event.tool_input.get("command", "")):
        return deny("marked commands are not allowed")
    return None
"""


def test_a_trial_call_refused_by_another_hook_does_not_leave_the_breaker_stuck_half_open(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    """The trial slot taken by a call that another hook then refuses is freed at the end of the
    batch (PostToolBatch lists the refused call; no PostToolUse ever comes), not after the lease."""
    project = hook_project.path
    (project / ".claude" / "policies").mkdir(parents=True)
    (project / ".claude" / "policies" / "deny_markers.py").write_text(DENY_POLICY)
    (project / ".claude" / "hooks.toml").write_text(
        '[runtime]\nhandlers = ["hooks.breaker", ".claude/policies/deny_markers.py"]\n\n'
        "[breaker]\nmax_failures = 1\ncooldown_seconds = 1\nsuccess_threshold = 1\n"
    )
    opened = run_claude(project, "fail once", [bash("exit 3"), "It failed."], timeout=120)
    opened.assert_success()
    time.sleep(1.2)  # the cooldown passes: the next Bash call is the half-open trial

    run = run_claude(project, "try twice", [bash("echo DENY-ME"), bash("echo second"), "Done."], timeout=120)

    run.assert_success()
    refused, second = run.tool_results()
    assert refused.text == "PreToolUse:Bash hook error: marked commands are not allowed", run.describe()
    assert (second.is_error, second.text) == (False, "second"), run.describe()  # the slot was free again
    events = [r["topic"] for r in hook_project.log_records("events")]
    assert events.count("breaker.half_open") == 1 and events[-1] != "breaker.opened"
    assert "breaker.closed" in events
