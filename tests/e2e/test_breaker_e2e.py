"""The circuit breaker inside real Claude Code 2.1.328 sessions (the runtime installed by ./install.sh).

What a user meets: a test-fix loop (fail, edit, fail, edit...) never opens a breaker; a call hammered
with nothing changed in between is refused on the sixth try with a reason that says what to change;
that refusal stays in its own session (another session's ``git status`` and ``pytest`` run); a tool
whose failures come from outside (WebFetch) is refused in every session of the project.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import MessagesRequest, Turn, bash, retry_while_failing, tool_use

pytestmark = pytest.mark.e2e

CONFIG = """
[runtime]
handlers = ["hooks.breaker"]
"""

# A test runner that always fails the same way, and logs each run (so a test sees what really ran).
FAKE_PYTEST = """#!/bin/sh
echo run >> pytest-runs.log
echo "tests/test_app.py F"
echo "FAILED tests/test_app.py::test_total - assert 41 == 42"
exit 1
"""
PYTEST = "./pytest -x tests"


def make_project(hook_project: HookProject) -> Path:
    project = hook_project.path
    (project / ".claude" / "hooks.toml").write_text(CONFIG)
    script = project / "pytest"
    script.write_text(FAKE_PYTEST)
    script.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def runs(project: Path) -> int:
    log = project / "pytest-runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def breakers(hook_project: HookProject) -> list[dict[str, object]]:
    """``python -m lib breakers --json`` as a user runs it from the installed runtime."""
    result: list[dict[str, object]] = hook_project.cli_json("breakers")["breakers"]
    return result


def test_a_test_fix_loop_with_a_write_after_each_failure_is_never_denied(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    project = make_project(hook_project)
    script: list[Turn] = []
    for i in range(8):
        script += [
            bash(PYTEST),
            tool_use("Write", file_path=str(project / f"fix_{i}.py"), content=f"X = {i}\n"),
        ]
    script.append("The tests still fail; here is what I tried.")

    run = run_claude(project, "make the tests pass", script, allowed_tools=("Bash", "Write"), timeout=240)

    run.assert_success()
    results = run.tool_results()
    assert len(results) == 16, run.describe()
    for i in range(8):
        failed, written = results[2 * i], results[2 * i + 1]
        assert failed.is_error and failed.text.startswith("Exit code 1"), run.describe()
        assert not written.is_error, run.describe()
        assert (project / f"fix_{i}.py").read_text() == f"X = {i}\n"
    assert run.permission_denials == []
    assert runs(project) == 8
    topics = [r["topic"] for r in hook_project.log_records("events")]
    assert "breaker.opened" not in topics and "tool.denied" not in topics


def test_a_hammered_command_is_denied_on_the_sixth_try_in_its_session_only(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    project = make_project(hook_project)

    first = run_claude(project, "run the tests", retry_while_failing(bash(PYTEST), attempts=6), timeout=180)

    first.assert_success()
    results = first.tool_results()
    assert len(results) == 6, first.describe()
    assert runs(project) == 5  # the sixth never ran
    for failed in results[:5]:
        assert failed.is_error and failed.text.startswith("Exit code 1"), first.describe()
    denied = results[5]
    assert denied.is_error, first.describe()
    reason = denied.text.removeprefix("PreToolUse:Bash hook error: ")
    assert reason.startswith(
        "Circuit breaker open: `Bash:pytest` failed 5 times in a row in this session with no progress "
        "in between. Last error: Exit code 1 … FAILED tests/test_app.py::test_total - assert 41 == 42. "
        "It is blocked and may be retried in "
    ), denied.text
    assert re.search(r"may be retried in (5\d|60)s \(at \d\d:\d\d:\d\d UTC\)", reason), reason
    assert "Change something before running `pytest` again: a successful Edit, Write" in reason
    assert [d["tool_use_id"] for d in first.permission_denials] == [first.last_request.tool_uses()[5].id]
    # the failure that opened the breaker told the model right away, next to its tool result
    assert "`Bash:pytest` has now failed 5 times in a row" in json.dumps(first.turn_requests[5].messages)
    [state] = breakers(hook_project)
    assert (state["key"], state["scope"], state["session"]) == ("Bash:pytest", "session", first.session_id)
    assert state["state"] == "open" and state["streak"] == 5

    second = run_claude(
        project,
        "check the repository",
        [bash("git status --short"), bash(PYTEST), "Done."],
        timeout=120,
    )

    second.assert_success()
    assert second.session_id != first.session_id
    status, tests = second.tool_results()
    assert not status.is_error, second.describe()  # another session's git status runs...
    assert tests.is_error and tests.text.startswith("Exit code 1"), second.describe()  # ...and so does pytest
    assert second.permission_denials == []
    assert runs(project) == 6
    [still] = [b for b in breakers(hook_project) if b["session"] == first.session_id]
    assert still["state"] == "open"  # the first session's breaker is still open meanwhile


FETCH_URL = "http://127.0.0.1:9/status"


def test_failures_of_an_external_tool_deny_it_in_another_session(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    """WebFetch of a dead endpoint (here nothing listens, and the domain check cannot reach claude.ai):
    its failures come from outside, so the breaker is shared by the project's sessions."""
    project = make_project(hook_project)
    fetch = tool_use("WebFetch", url=FETCH_URL, prompt="Is the service up?")

    first = run_claude(
        project,
        "check the service",
        retry_while_failing(fetch, attempts=5),
        allowed_tools=("WebFetch",),
        timeout=240,
    )

    first.assert_success()
    results = first.tool_results()
    assert len(results) == 5 and all(r.is_error for r in results), first.describe()
    assert not any(r.text.startswith("PreToolUse") for r in results), first.describe()

    def one_fetch(request: MessagesRequest) -> Turn:
        return "Blocked." if request.tool_uses() else fetch

    second = run_claude(
        project, "check the service again", one_fetch, allowed_tools=("WebFetch",), timeout=120
    )

    second.assert_success()
    [denied] = second.tool_results()
    assert denied.is_error and denied.text.startswith(
        "PreToolUse:WebFetch hook error: Circuit breaker open: `WebFetch` failed 5 times in a row across "
        "this project's sessions"
    ), second.describe()
    assert "editing files does not unblock it" in denied.text
    assert len(second.permission_denials) == 1
    [state] = breakers(hook_project)
    assert (state["key"], state["scope"], state["session"], state["state"]) == (
        "WebFetch",
        "shared",
        None,
        "open",
    )


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
    batch (PostToolBatch lists the refused call; no PostToolUse ever comes), not after the lease.
    One breaker for all of Bash, shared by the sessions (``bash_key = "tool"``, ``shared_keys``)."""
    project = hook_project.path
    (project / ".claude" / "policies").mkdir(parents=True)
    (project / ".claude" / "policies" / "deny_markers.py").write_text(DENY_POLICY)
    (project / ".claude" / "hooks.toml").write_text(
        '[runtime]\nhandlers = ["hooks.breaker", ".claude/policies/deny_markers.py"]\n\n'
        "[breaker]\nmax_failures = 1\ncooldown_seconds = 1\nsuccess_threshold = 1\n"
        'bash_key = "tool"\nshared_keys = ["Bash"]\n'
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
