"""The dashboard's model, fed records by hand: calls joined by tool_use_id, sessions with subagents,
counts, the timeline and the change stream."""

from __future__ import annotations

from typing import Any

from lib.dashboard import model as dm
from lib.dashboard.model import DashboardModel, summarize_input


def rec(event: str, ts: str = "2026-12-06T10:00:00.000Z", sid: str = "s1", **fields: Any) -> dict[str, Any]:
    top = {k: fields.pop(k) for k in ("tool_use_id", "tool", "duration_ms", "hook") if k in fields}
    return {"ts": ts, "hook": "runtime", "event": event, "session_id": sid, **top, "fields": fields}


def test_pre_and_post_records_make_one_call_row() -> None:
    m = DashboardModel()
    m.ingest_log(rec("SessionStart", model="claude-opus-5-5", source="startup"))
    m.ingest_log(rec("UserPromptSubmit", prompt="fix   the\n tests"))
    m.ingest_log(
        rec("PreToolUse", tool="Bash", tool_use_id="t1", duration_ms=3.5, tool_input={"command": "ls"})
    )
    m.ingest_log(rec("PostToolUse", tool="Bash", tool_use_id="t1", tool_duration_ms=12))
    m.ingest_log(
        rec(
            "PreToolUse",
            tool="Bash",
            tool_use_id="t2",
            decision="deny",
            reason="no",
            handlers=[{"name": "guards.bash", "decision": "deny"}, {"name": "breaker.check"}, "junk"],
        )
    )
    m.ingest_log(rec("PreToolUse", tool="Read", tool_use_id="t3", decision="ask", reason="sure?"))
    m.ingest_log(
        rec("PostToolUseFailure", tool="Read", tool_use_id="t3", error="boom\nmore", is_interrupt=True)
    )
    m.ingest_log(rec("PreToolUse", tool="Edit", tool_use_id="t4", agent_id="ag", agent_type="Explore"))
    m.ingest_log(rec("PostToolUseFailure", tool="Edit", tool_use_id="t4", agent_id="ag", error="bad"))
    m.ingest_log(rec("SubagentStart", agent_id="ag2", agent_type="Plan"))
    m.ingest_log(rec("PreToolUse", tool="Bash", hook="guards.bash"))  # a handler's record: ignored
    m.ingest_log(rec("PostToolUse", tool="Bash"))  # no tool_use_id: its own row
    m.ingest_log({"hook": "runtime", "event": 5})
    m.ingest_log(rec("SessionEnd", end_reason="other"))
    m.ingest_event({"topic": "breaker.opened", "session_id": "s1", "ts": "2026-12-06T10:00:01Z"})
    m.ingest_event({"topic": "tool.pre", "session_id": "s1"})

    rows = {r["id"]: r for r in m.feed()}
    assert (
        rows["t1"]["decision"] == "allowed"
        and rows["t1"]["result"] == "ok"
        and rows["t1"]["duration_ms"] == 12
    )
    assert rows["t1"]["input"] == "ls" and rows["t1"]["hook_ms"] == 3.5
    assert (rows["t2"]["decision"], rows["t2"]["by"], rows["t2"]["reason"]) == (
        "denied",
        ["guards.bash"],
        "no",
    )
    assert (rows["t3"]["decision"], rows["t3"]["result"], rows["t3"]["error"]) == (
        "asked",
        "interrupted",
        "boom more",
    )
    assert rows["t4"]["agent_id"] == "ag" and rows["t4"]["result"] == "failed"
    assert "#anon1" in rows
    [s] = m.session_rows()
    assert (s["prompts"], s["recent_prompts"], s["model"], s["ended"], s["end_reason"]) == (
        1,
        ["fix the tests"],
        "claude-opus-5-5",
        True,
        "other",
    )
    assert (s["tool_calls"], s["denials"], s["asks"], s["failures"], s["breaker_openings"]) == (4, 1, 1, 1, 1)
    assert s["tools"] == {"Bash": 2, "Edit": 1, "Read": 1}
    assert s["agents"] == [
        {"agent_id": "ag", "agent_type": "Explore", "tool_calls": 1, "failures": 1, "denials": 0},
        {"agent_id": "ag2", "agent_type": "Plan", "tool_calls": 0, "failures": 0, "denials": 0},
    ]
    assert m.records == 12 and m.events == 2
    [point] = m.timeline()["points"]
    assert (point["calls"], point["denials"], point["failures"], point["hooks"], point["p50_ms"]) == (
        4,
        1,
        1,
        1,
        3.5,
    )


def test_changes_since_gives_the_latest_row_or_asks_for_a_reload(monkeypatch: Any) -> None:
    m = DashboardModel()
    assert m.changes_since(0) == []
    m.ingest_log(rec("PreToolUse", tool="Bash", tool_use_id="t1"))
    m.ingest_log(rec("PostToolUse", tool="Bash", tool_use_id="t1"))
    changed = m.changes_since(0)
    assert changed is not None and [(r["id"], r["result"]) for r in changed] == [("t1", "ok")]
    assert m.changes_since(m.seq) == []
    m.changes.clear()
    m.ingest_log(rec("PreToolUse", tool="Bash", tool_use_id="t2"))
    assert m.changes_since(0) is None  # older changes are gone: reload
    monkeypatch.setattr(dm, "FEED_SIZE", 2)
    for n in range(5):
        m.ingest_log(rec("PreToolUse", tool="Bash", tool_use_id=f"x{n}"))
    assert [r["id"] for r in m.feed()] == ["x3", "x4"]


def test_the_timeline_merges_minutes_into_at_most_max_points() -> None:
    m = DashboardModel()
    assert m.timeline() == {"bucket_minutes": 1, "points": []}
    for minute in range(10):
        m.ingest_log(
            rec(
                "PreToolUse",
                ts=f"2026-12-06T10:{minute:02d}:00Z",
                tool="Bash",
                tool_use_id=f"t{minute}",
                duration_ms=minute,
            )
        )
    m.ingest_log({"hook": "runtime", "event": "Stop", "ts": 7})  # no usable time: not in a bucket
    timeline = m.timeline(max_points=4)
    assert timeline["bucket_minutes"] == 3
    assert [p["calls"] for p in timeline["points"]] == [3, 3, 3, 1]
    assert timeline["points"][0]["t"] == "2026-12-06T10:00"


def test_summaries_of_tool_inputs() -> None:
    assert summarize_input({"file_path": "/a/b.py", "content": "x"}) == "/a/b.py"
    assert summarize_input({"pattern": "TODO"}) == "TODO"
    assert summarize_input({"a": 1, "b": [2]}) == "a=1, b=[2]"
    assert summarize_input("nope") == ""
    assert summarize_input({"command": "x" * 500}).endswith("…")
    m = DashboardModel()
    m.count_skipped("hooks", 0)
    m.count_skipped("hooks", 2)
    assert m.skipped == {"hooks": 2}
