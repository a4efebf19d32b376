"""A real Claude Code 2.1.328 session through our installed hooks leaves a complete trace, a complete
log, a bus the Stop hook summarised from, and a closed session entry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import Turn, bash

pytestmark = pytest.mark.e2e

POLICY = """
from lib import deny, hook


@hook("PreToolUse", matcher="Bash", name="no_curl")
def no_curl(event):
    if "curl" in str(event.tool_input.get("command", "")):
        return deny("network calls are off in this project")
    return None
"""


def lib_cli(project: HookProject, *args: str) -> str:
    proc = project.lib_command(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_real_session_leaves_a_complete_trace(run_claude: ClaudeRunner, hook_project: HookProject) -> None:
    project = hook_project.path
    hook_project.use_handler_module("policy.py", POLICY)  # the Stop summary is built in
    script: list[Turn] = [
        bash("echo hello > hello.txt"),
        bash("exit 3"),
        bash("curl https://example.com"),
        "Done: wrote hello.txt; one command failed and one was refused.",
    ]

    run = run_claude(project, "do the work", script)

    run.assert_success()
    session = run.session_id
    assert session
    ok_call, failing_call, curl_call = run.last_request.tool_uses()

    # the trace: one root, opened by SessionStart and closed by SessionEnd, every tool call linked
    [tree] = [
        json.loads(line) for line in lib_cli(hook_project, "traces", "show", session, "--json").splitlines()
    ]
    assert tree["name"] == "session" and not tree["reconstructed"] and tree["end_time"] is not None
    names = [c["name"] for c in tree["children"]]
    assert names[0] == "SessionStart" and names[-1] == "SessionEnd" and "turn" in names
    [turn] = [c for c in tree["children"] if c["name"] == "turn"]
    assert not turn["reconstructed"] and turn["end_time"] is not None  # UserPromptSubmit .. Stop
    tools = {c["attributes"]["tool.use_id"]: c for c in turn["children"] if c["name"] == "tool Bash"}
    assert set(tools) == {ok_call.id, failing_call.id, curl_call.id}

    def hooks_of(span: dict[str, Any]) -> list[str]:
        return [c["name"] for c in span["children"]]

    ok = tools[ok_call.id]
    assert (ok["status"], ok["attributes"]["tool.outcome"]) == ("ok", "success")
    assert hooks_of(ok) == ["PreToolUse", "PostToolUse"] and not ok["reconstructed"]
    failing = tools[failing_call.id]
    assert (failing["status"], failing["status_message"]) == ("error", "Exit code 3")
    assert hooks_of(failing) == ["PreToolUse", "PostToolUseFailure"]
    refused = tools[curl_call.id]
    assert refused["status"] == "error" and refused["attributes"]["tool.outcome"] == "denied"
    assert hooks_of(refused) == ["PreToolUse"]
    assert "Stop" in hooks_of(turn) and "UserPromptSubmit" in hooks_of(turn)
    for span in (ok, failing, refused):
        assert span["start_time"] <= span["children"][0]["start_time"]

    otlp = json.loads(lib_cli(hook_project, "traces", "export", session))
    spans = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ids = {s["spanId"] for s in spans}
    assert all(s.get("parentSpanId") in ids for s in spans if s["name"] != "session")
    assert {s["traceId"] for s in spans} == {session.replace("-", "")}

    # the log: one runtime record per hook process Claude Code ran, with the decision
    records = hook_project.log_records("hooks")
    events = [r["event"] for r in records if r["hook"] == "runtime"]
    assert events.count("PreToolUse") == 3 and events.count("PostToolUse") == 1
    assert (
        events.count("PostToolUseFailure") == 1 and events[0] == "SessionStart" and events[-1] == "SessionEnd"
    )
    denied = next(r for r in records if r.get("tool_use_id") == curl_call.id and r["event"] == "PreToolUse")
    assert denied["fields"]["decision"] == "deny"
    assert [h["name"] for h in denied["fields"]["handlers"] if h.get("decision") == "deny"] == ["no_curl"]

    # the Stop hook read the bus and left its one-line summary
    summary = next(r for r in records if r["hook"] == "session_summary" and r["event"] == "Stop")
    assert summary["message"].startswith("Session so far: 3 tool calls (Bash 3), 1 failed, 1 denied")

    status = json.loads(lib_cli(hook_project, "status", "--json", "--all"))
    [entry] = [s for s in status["sessions"] if s["session_id"] == session]
    assert entry["status"] == "ended" and entry["end_reason"] == "other"
