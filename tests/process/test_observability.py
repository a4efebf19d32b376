"""What hook processes leave in .claude/logs and .claude/state, driven as Claude Code drives them, and
what the reading side (`python -m lib logs|events|traces|metrics|status`) shows of it."""

from __future__ import annotations

import json
import select
import time
from pathlib import Path
from typing import Any

import pytest
from hookkit import HookProject, load_payloads, payload_for

SESSION = "5921294c-55cd-4911-91ca-88811f0d9977"

POLICY = """
from lib import hook, deny

@hook("PreToolUse", matcher="Bash", name="no_rm")
def no_rm(event):
    if "rm -rf" in event.tool_input.get("command", ""):
        return deny("rm -rf is not allowed here")
"""


@pytest.fixture
def project(hook_project: HookProject) -> HookProject:
    hook_project.use_handler_module("policy.py", POLICY)  # the Stop summary is built in
    return hook_project


def logs(project: HookProject) -> Path:
    return project.path / ".claude" / "logs"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def replay(project: HookProject) -> dict[str, Any]:
    """The captured 2.1.328 session, plus a denied `rm -rf`, through the installed hooks."""
    results = {}
    for payload in load_payloads():
        if payload["hook_event_name"] == "Stop":
            denied = payload_for(
                "PreToolUse", "Bash", tool_use_id="toolu_denied", tool_input={"command": "rm -rf /tmp/x"}
            )
            results["denied"] = project.run(denied)
        result = project.run(payload)
        assert result.code == 0 and "Traceback" not in result.stderr, result
        results[payload["hook_event_name"]] = result
    return results


def test_a_session_leaves_log_records_events_a_linked_trace_and_a_closed_session(
    project: HookProject,
) -> None:
    results = replay(project)
    assert results["denied"].decision == "deny"

    # the Stop hook summarised the session from the bus, for the user and in the log
    stop = results["Stop"].json or {}
    assert stop["systemMessage"].startswith("Session so far: 9 tool calls (Bash 3, Read 2,")
    assert "2 failed, 1 denied, 0 breaker openings" in stop["systemMessage"]

    records = project.log_records("hooks")
    runtime_records = [r for r in records if r["hook"] == "runtime"]
    assert len(runtime_records) == len(load_payloads()) + 1  # one per hook process
    for record in runtime_records:
        assert set(record) >= {"ts", "level", "hook", "event", "session_id", "correlation_id", "duration_ms"}
        assert record["ts"].endswith("Z") and record["session_id"] == SESSION
    deny_record = next(r for r in runtime_records if r.get("tool_use_id") == "toolu_denied")
    assert deny_record["fields"]["decision"] == "deny"
    assert deny_record["fields"]["reason"] == "rm -rf is not allowed here"
    assert [h["name"] for h in deny_record["fields"]["handlers"] if h.get("decision") == "deny"] == ["no_rm"]
    assert any(r["hook"] == "session_summary" and r["message"].startswith("Session so far") for r in records)

    topics = [e["topic"] for e in project.log_records("events")]
    assert topics[0] == "session.start" and topics[1] == "prompt.submit" and topics[-1] == "session.end"
    assert topics.count("tool.failure") == 2 and topics.count("tool.denied") == 1
    assert topics.count("tool.pre") == 7 and topics.count("tool.post") == 6
    ids = [e["id"] for e in project.log_records("events")]
    assert ids == sorted(set(ids))

    sessions = json.loads((project.path / ".claude" / "state" / "sessions.json").read_text())["sessions"]
    assert sessions[SESSION]["status"] == "ended" and sessions[SESSION]["end_reason"] == "other"

    # one trace: session -> turn -> tool call (Pre and Post from two processes) -> hook spans
    shown = project.lib_command("traces", "show", SESSION, "--json")
    assert shown.returncode == 0, shown.stderr
    [tree] = json_lines(shown.stdout)
    assert tree["name"] == "session" and tree["trace_id"] == SESSION.replace("-", "")
    assert (
        not tree["reconstructed"] and tree["end_time"] is not None
    )  # opened by SessionStart, closed by SessionEnd
    [turn] = [c for c in tree["children"] if c["name"] == "turn"]
    tools = [c for c in turn["children"] if c["name"].startswith("tool ")]
    assert len(tools) == 9
    echo = next(t for t in tools if t["attributes"].get("tool.use_id") == "toolu_msg_0")
    assert [c["name"] for c in echo["children"]] == ["PreToolUse", "PostToolUse"]
    assert echo["status"] == "ok" and echo["attributes"]["tool.outcome"] == "success"
    denied = next(t for t in tools if t["attributes"].get("tool.use_id") == "toolu_denied")
    assert denied["status"] == "error" and denied["status_message"].startswith("denied: rm -rf")
    [pre] = denied["children"]
    assert "handler no_rm" in [c["name"] for c in pre["children"]]
    assert (
        next(c for c in pre["children"] if c["name"] == "handler no_rm")["attributes"]["handler.decision"]
        == "deny"
    )
    failures = [t for t in tools if t["attributes"].get("tool.outcome") == "failure"]
    assert len(failures) == 2 and all(t["status"] == "error" for t in failures)

    drawn = project.lib_command("traces", "show", SESSION[:8])
    assert "├─ tool Bash" in drawn.stdout and "ERROR: denied: rm -rf is not allowed here" in drawn.stdout

    otlp = json.loads(project.lib_command("traces", "export", SESSION).stdout)
    spans = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    by_id = {s["spanId"]: s for s in spans}
    assert all(s["parentSpanId"] in by_id for s in spans if "parentSpanId" in s)  # a connected tree
    assert {s["traceId"] for s in spans} == {SESSION.replace("-", "")}


def test_reading_commands_filter_and_summarise(project: HookProject) -> None:
    replay(project)
    bash_logs = json_lines(project.lib_command("logs", "--tool", "Bash", "--json").stdout)
    assert bash_logs and all(r["tool"] == "Bash" for r in bash_logs)
    assert {r["event"] for r in bash_logs} >= {"PreToolUse", "PostToolUse", "PostToolUseFailure"}
    assert json_lines(project.lib_command("logs", "--level", "error", "--json").stdout) == []
    assert project.lib_command("logs", "--session", "nope", "--json").stdout == ""
    pretty = project.lib_command("logs", "--event", "PostToolUseFailure").stdout
    assert "PostToolUseFailure Bash failed: Exit code 3" in pretty

    failures = json_lines(project.lib_command("events", "--topic", "tool.failure", "--json").stdout)
    assert [e["payload"]["tool_name"] for e in failures] == ["Bash", "Read"]
    after = json_lines(
        project.lib_command("events", "--after", str(failures[0]["id"]), "--topic", "tool.*", "--json").stdout
    )
    assert after[0]["id"] > failures[0]["id"] and len(after) < 16

    metrics = json.loads(project.lib_command("metrics", "--json").stdout)
    assert metrics["tools"]["Bash"] == {"calls": 3, "failures": 1, "interrupted": 0, "denied": 1}
    assert metrics["tools"]["Read"]["failures"] == 1
    assert metrics["hooks"]["PreToolUse"]["count"] == 7
    assert metrics["hooks"]["PreToolUse"]["p50_ms"] <= metrics["hooks"]["PreToolUse"]["p95_ms"]
    assert metrics["handlers"]["no_rm"]["count"] == 2  # its matcher is Bash
    assert metrics["denials_by"] == {"no_rm": 1}
    assert "Tool calls (1 sessions)" in project.lib_command("metrics").stdout

    status = json.loads(project.lib_command("status", "--json", "--all").stdout)
    assert [s["session_id"] for s in status["sessions"]] == [SESSION]
    assert json.loads(project.lib_command("status", "--json").stdout)["sessions"] == []  # ended ones hidden


def test_session_heartbeat_registers_a_session_first_seen_mid_way(project: HookProject) -> None:
    payload = payload_for("PreToolUse", "Read", session_id="mid-session")
    project.run(payload)
    status = json.loads(project.lib_command("status", "--json").stdout)
    [session] = status["sessions"]
    assert session["session_id"] == "mid-session" and session["status"] == "active"
    assert session["last_event"] == "PreToolUse"
    assert "mid-session" in project.lib_command("status").stdout


def test_secrets_and_huge_outputs_never_reach_the_logs(project: HookProject) -> None:
    key = "sk-ant-api03-" + "Q" * 90
    pre = payload_for("PreToolUse", "Bash", tool_input={"command": f"ANTHROPIC_API_KEY={key} ./deploy.sh"})
    project.run(pre)
    post = payload_for(
        "PostToolUse",
        "Bash",
        tool_input={"command": "cat big.log"},
        tool_response={"stdout": f"token: {key}\n" + "x" * (8 * 1024 * 1024), "stderr": ""},
    )
    assert project.run(post).code == 0
    for path in logs(project).glob("*.jsonl"):
        text = path.read_text()
        assert key not in text and "Q" * 30 not in text, path.name
    assert (logs(project) / "hooks.jsonl").stat().st_size < 64 * 1024


@pytest.mark.slow
def test_parallel_hook_processes_lose_nothing(project: HookProject) -> None:
    procs = [
        project.popen(payload_for("PreToolUse", "Bash", tool_use_id=f"toolu_p{n}", session_id=f"s{n % 4}"))
        for n in range(16)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    pre_records = [
        r for r in project.log_records("hooks") if r["event"] == "PreToolUse" and r["hook"] == "runtime"
    ]
    assert sorted(r["tool_use_id"] for r in pre_records) == sorted(f"toolu_p{n}" for n in range(16))
    events = [e for e in project.log_records("events") if e["topic"] == "tool.pre"]
    assert len({e["id"] for e in events}) == len(events) == 16
    status = json.loads(project.lib_command("status", "--json").stdout)
    assert sorted(s["session_id"] for s in status["sessions"]) == ["s0", "s1", "s2", "s3"]


def test_events_follow_prints_new_events_as_hooks_publish_them(project: HookProject) -> None:
    follower = project.start_cli("events", "-f", "--json", "--topic", "tool.*")
    try:
        time.sleep(1.0)
        project.run(payload_for("PostToolUseFailure", "Bash"))
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], 30)  # never hang the suite
        assert ready, (
            f"no event printed within 30 s; stderr: {follower.stderr.read() if follower.poll() is not None else ''}"
        )
        line = follower.stdout.readline()
        assert json.loads(line)["topic"] == "tool.failure"
    finally:
        follower.terminate()  # as a user stops it (and lets coverage save its data)
        follower.wait(timeout=30)
