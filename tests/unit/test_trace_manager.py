"""Spans, derived ids, the correlation context, the trace tree and the OTLP/JSON export."""

from __future__ import annotations

import json
import os

import pydantic
import pytest

from lib.trace_manager import (
    Span,
    TraceRecorder,
    derived_span_id,
    get_correlation_id,
    get_trace_context,
    start_span,
    start_trace,
    trace_id_for_session,
)
from lib.trace_tree import TraceNode, build_trees, load_traces, to_otlp

SESSION = "5921294c-55cd-4911-91ca-88811f0d9977"
MS = 1_000_000


def test_trace_id_of_a_session_is_its_uuid_and_other_ids_are_stable_hashes() -> None:
    assert trace_id_for_session(SESSION) == SESSION.replace("-", "")
    other = trace_id_for_session("not-a-uuid")
    assert len(other) == 32 and other == trace_id_for_session("not-a-uuid")
    tool = derived_span_id("tool", "toolu_01")
    assert len(tool) == 16 and tool == derived_span_id("tool", "toolu_01") != derived_span_id(
        "tool", "toolu_02"
    )


def test_correlation_context_nests_and_resets() -> None:
    assert get_correlation_id() is None and get_trace_context() is None
    with start_trace("plan", session_id=SESSION, correlation_id="corr-1") as root:
        assert get_correlation_id() == "corr-1"
        ctx = get_trace_context()
        assert (
            ctx is not None and ctx["trace_id"] == SESSION.replace("-", "") and ctx["span_id"] == root.span_id
        )
        assert ctx["traceparent"] == f"00-{root.trace_id}-{root.span_id}-01"
        with start_span("phase") as child:
            assert child.parent_span_id == root.span_id and child.trace_id == root.trace_id
            assert get_correlation_id() == "corr-1"
            assert get_trace_context()["span_id"] == child.span_id  # type: ignore[index]
        assert get_trace_context()["span_id"] == root.span_id  # type: ignore[index]
    assert get_correlation_id() is None


def test_scoped_spans_are_recorded_with_status_and_errors(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "traces.jsonl")
    recorder = TraceRecorder(path)
    with start_trace("run", recorder=recorder, attributes={"k": 1}), start_span("ok-step", recorder=recorder):
        pass
    with pytest.raises(ValueError), start_trace("failing", recorder=recorder):
        raise ValueError("bad input")
    recorder.close()
    with open(path, "rb") as f:
        records = [json.loads(line) for line in f]
    assert [r["name"] for r in records] == ["ok-step", "run", "failing"]
    assert records[0]["parent_span_id"] == records[1]["span_id"]
    assert records[1]["status"] == "ok" and records[1]["attributes"] == {"k": 1}
    assert records[2]["status"] == "error" and records[2]["status_message"] == "ValueError: bad input"
    assert records[1]["end_ns"] >= records[1]["start_ns"]


def test_span_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unset, ok, error"):
        Span("x", trace_id="t" * 32).end("fine")


def hook_span(name: str, start: int, end: int, parent: str, ancestors: list[list[str]]) -> dict[str, object]:
    span = Span(
        name,
        trace_id="a" * 32,
        parent_span_id=parent,
        ancestors=ancestors,
        start_ns=start * MS,
        end_ns=end * MS,
        status="ok",
    )
    return span.to_record()


def test_tool_call_span_opened_and_closed_by_two_processes_becomes_one_node() -> None:
    tool_id = derived_span_id("tool", "toolu_1")
    session_id = derived_span_id("session", SESSION)
    ancestors = [[tool_id, "tool Bash"], [session_id, "session"]]
    opened = Span(
        "tool Bash",
        trace_id="a" * 32,
        span_id=tool_id,
        parent_span_id=session_id,
        ancestors=[[session_id, "session"]],
        start_ns=100 * MS,
        attributes={"tool.name": "Bash"},
    ).to_record("span_start")
    records = [
        opened,
        hook_span("PreToolUse", 100, 103, tool_id, ancestors),
        hook_span("PostToolUse", 150, 152, tool_id, ancestors),
        {
            "type": "span_end",
            "trace_id": "a" * 32,
            "span_id": tool_id,
            "end_ns": 152 * MS,
            "status": "error",
            "status_message": "Exit code 1",
            "attributes": {"tool.outcome": "failure"},
        },
    ]
    [root] = build_trees(records)
    assert root.name == "session" and root.reconstructed  # SessionStart hook never ran
    assert (root.start_ns, root.end_ns) == (100 * MS, 152 * MS)
    [tool] = root.children
    assert tool.name == "tool Bash" and not tool.reconstructed
    assert tool.duration_ms == 52.0 and tool.status == "error" and tool.status_message == "Exit code 1"
    assert tool.attributes == {"tool.name": "Bash", "tool.outcome": "failure"}
    assert [c.name for c in tool.children] == ["PreToolUse", "PostToolUse"]
    with pytest.raises(pydantic.ValidationError):
        tool.name = "changed"  # type: ignore[misc]


def test_missing_tool_span_is_reconstructed_from_its_hook_spans() -> None:
    tool_id = derived_span_id("tool", "toolu_2")
    turn_id = derived_span_id("turn", "prompt-1")
    session_id = derived_span_id("session", SESSION)
    ancestors = [[tool_id, "tool Read"], [turn_id, "turn"], [session_id, "session"]]
    [root] = build_trees([hook_span("PostToolUseFailure", 200, 201, tool_id, ancestors)])
    assert [(d, n.name, n.reconstructed) for d, n in root.walk()] == [
        (0, "session", True),
        (1, "turn", True),
        (2, "tool Read", True),
        (3, "PostToolUseFailure", False),
    ]
    assert root.find("tool")[0].duration_ms == 1.0


def test_open_span_has_no_end_and_lone_end_records_are_ignored() -> None:
    opened = Span("session", trace_id="b" * 32, span_id="1" * 16, start_ns=5 * MS).to_record("span_start")
    lone_end = {"type": "span_end", "trace_id": "b" * 32, "span_id": "2" * 16, "end_ns": 9 * MS}
    [root] = build_trees([opened, lone_end, {"garbage": True}])
    assert root.end_time is None and root.duration_ms is None


def test_otlp_json_export_shape() -> None:
    tool_id = derived_span_id("tool", "toolu_1")
    records = [hook_span("PreToolUse", 100, 103, tool_id, [[tool_id, "tool Bash"]])]
    records[0]["attributes"] = {"tool.name": "Bash", "exit_code": 0, "ratio": 0.5, "ok": True, "list": ["a"]}
    records[0]["session_id"] = SESSION
    otlp = to_otlp(build_trees(records))
    json.dumps(otlp)  # plain JSON
    [resource] = otlp["resourceSpans"]  # type: ignore[index]
    service = resource["resource"]["attributes"][0]
    assert service == {"key": "service.name", "value": {"stringValue": "claude-hooks"}}
    spans = {s["name"]: s for s in resource["scopeSpans"][0]["spans"]}
    tool, hook = spans["tool Bash"], spans["PreToolUse"]
    assert hook["parentSpanId"] == tool["spanId"] == tool_id
    assert hook["traceId"] == "a" * 32 and len(hook["spanId"]) == 16
    assert hook["startTimeUnixNano"] == str(100 * MS) and hook["endTimeUnixNano"] == str(103 * MS)
    assert hook["status"] == {"code": 1}
    attrs = {a["key"]: a["value"] for a in hook["attributes"]}
    assert attrs["exit_code"] == {"intValue": "0"} and attrs["ratio"] == {"doubleValue": 0.5}
    assert attrs["ok"] == {"boolValue": True} and attrs["list"] == {
        "arrayValue": {"values": [{"stringValue": "a"}]}
    }
    assert attrs["session.id"] == {"stringValue": SESSION}
    assert tool["endTimeUnixNano"] == str(103 * MS)  # reconstructed from its child
    assert {"key": "claude_hooks.reconstructed", "value": {"boolValue": True}} in tool["attributes"]


def test_load_traces_reads_the_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "traces.jsonl")
    recorder = TraceRecorder(path)
    with start_trace("root", recorder=recorder), start_span("leaf", recorder=recorder):
        pass
    recorder.close()
    [root] = load_traces(path)
    assert isinstance(root, TraceNode) and [c.name for c in root.children] == ["leaf"]


def test_trace_manager_re_exports_the_tree_lazily() -> None:
    import lib.trace_manager as tm

    assert tm.TraceNode is TraceNode and tm.to_otlp is to_otlp
    with pytest.raises(AttributeError):
        _ = tm.NoSuchThing  # type: ignore[attr-defined]


def test_a_deferred_recorder_writes_its_spans_together_at_close(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "traces.jsonl")
    recorder = TraceRecorder(path, deferred=True)
    span = Span("tool Bash", trace_id="a" * 32, span_id="b" * 16, start_ns=1)
    recorder.start(span)
    recorder.record(Span("PreToolUse", trace_id="a" * 32, parent_span_id="b" * 16, start_ns=2, end_ns=3))
    recorder.end("a" * 32, "b" * 16, end_ns=4, status="ok")
    assert not os.path.exists(path)  # nothing written yet
    recorder.close()
    with open(path, encoding="utf-8") as f:
        kinds = [json.loads(line)["type"] for line in f]
    assert kinds == ["span_start", "span", "span_end"]
