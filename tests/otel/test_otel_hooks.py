"""Hooks run as Claude Code runs them, with ``[otel] endpoint`` set: their spans reach a local
OTLP/HTTP receiver through the detached shipper the hooks start, with no command run by hand."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
from hookkit import HookProject, payload_for
from receivers import HttpReceiver, Received, spans_of, stop_workers, worker_pid

from lib.detached import SPAWN_GRACE_SECONDS

pytestmark = pytest.mark.slow

CLAUDE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLAUDE_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def otel_project(hook_project: HookProject, collector: HttpReceiver) -> Iterator[HookProject]:
    hook_project.write_config(f'[otel]\nendpoint = "{collector.url}"\nlinger_seconds = 5\n')
    yield hook_project
    stop_workers(hook_project.path / ".claude" / "state")


def test_spans_reach_the_collector_within_10_seconds_without_a_command(
    otel_project: HookProject, collector: HttpReceiver
) -> None:
    pre = payload_for("PreToolUse", "Bash")
    post = payload_for("PostToolUse", "Bash", tool_use_id=pre["tool_use_id"], session_id=pre["session_id"])
    started = time.monotonic()
    assert otel_project.run(pre).code == 0
    assert otel_project.run(post).code == 0

    got = collector.wait_for(
        lambda r: {"PreToolUse", "PostToolUse", "tool Bash"} <= {s["name"] for s in spans_of(r)}
    )
    names = [s["name"] for s in spans_of(got)]
    assert {"PreToolUse", "PostToolUse", "tool Bash"} <= set(names), names
    assert got[-1].at - started < 10
    assert len(names) == len(set(names))  # each once
    hook = next(s for s in spans_of(got) if s["name"] == "PreToolUse")
    assert hook["attributes"]["session.id"] == pre["session_id"]
    assert hook["attributes"]["gen_ai.tool.name"] == "Bash"
    assert hook["trace_id"] == pre["session_id"].replace("-", "")


def test_a_traceparent_puts_the_hook_span_into_claude_codes_trace(
    otel_project: HookProject, collector: HttpReceiver
) -> None:
    pre = payload_for("PreToolUse", "Bash")
    result = otel_project.run(pre, env={"TRACEPARENT": f"00-{CLAUDE_TRACE}-{CLAUDE_SPAN}-01"})
    assert result.code == 0

    got = spans_of(collector.wait_for(lambda r: any(s["name"] == "PreToolUse" for s in spans_of(r))))
    hook = next(s for s in got if s["name"] == "PreToolUse")
    assert (hook["trace_id"], hook["parent_span_id"]) == (CLAUDE_TRACE, CLAUDE_SPAN)
    handlers = [s for s in got if s["name"].startswith("handler ")]
    assert handlers and all(
        (h["trace_id"], h["parent_span_id"]) == (CLAUDE_TRACE, hook["span_id"]) for h in handlers
    )


def test_a_malformed_traceparent_changes_nothing(otel_project: HookProject, collector: HttpReceiver) -> None:
    pre = payload_for("PreToolUse", "Bash")
    otel_project.run(pre, env={"TRACEPARENT": f"00-{CLAUDE_TRACE}-{'0' * 16}-01"})  # all-zero span id
    got = spans_of(collector.wait_for(lambda r: any(s["name"] == "PreToolUse" for s in spans_of(r))))
    hook = next(s for s in got if s["name"] == "PreToolUse")
    assert hook["trace_id"] == pre["session_id"].replace("-", "")


def test_every_span_arrives_once_across_shipper_crashes(
    hook_project: HookProject, collector: HttpReceiver
) -> None:
    """The shipper the hooks started is killed (SIGKILL) while retrying a collector that is down, and
    again while following; the hooks that come after start a new one, and every span written before,
    between and after arrives exactly once."""
    hook_project.write_config(f'[otel]\nendpoint = "{collector.url}"\nlinger_seconds = 30\n')
    state = hook_project.path / ".claude" / "state"
    base = payload_for("PreToolUse", "Bash")

    def hooks(first: int, last: int) -> None:
        for i in range(first, last):
            assert hook_project.run({**base, "tool_use_id": f"toolu_crash_{i}"}).code == 0

    def pre_tool_spans(requests: list[Received]) -> int:
        return len([s for s in spans_of(requests) if s["name"] == "PreToolUse"])

    def saved_shipped() -> int:
        """How many spans the shipper has saved as shipped (``.claude/state/otel-shipper.json``)."""
        try:
            saved = json.loads((state / "otel-shipper.json").read_text())
        except (OSError, ValueError):
            return 0
        shipped = saved.get("shipped") if isinstance(saved, dict) else None
        return shipped if isinstance(shipped, int) else 0

    try:
        collector.statuses[:] = [503] * 1000  # the collector is down
        hooks(0, 3)
        first = worker_pid(state, "otel-shipper")
        assert first is not None
        deadline = time.monotonic() + 10
        while len(collector.attempts) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(collector.attempts) >= 2 and collector.received() == []
        os.kill(first, signal.SIGKILL)

        collector.statuses.clear()  # the collector is back
        time.sleep(SPAWN_GRACE_SECONDS + 0.2)
        hooks(3, 6)
        got = collector.wait_for(lambda r: pre_tool_spans(r) >= 6)
        second = worker_pid(state, "otel-shipper")
        assert second is not None and second != first
        # kill it once it has saved its position for what the collector accepted: a kill in the
        # instant between the two resends that batch, the one duplicate the shipper documents
        deadline = time.monotonic() + 10
        while saved_shipped() < len(spans_of(collector.received())) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(second, signal.SIGKILL)

        time.sleep(SPAWN_GRACE_SECONDS + 0.2)
        hooks(6, 8)
        collector.wait_for(lambda r: pre_tool_spans(r) >= 8)
        time.sleep(1.0)  # anything sent twice would arrive now
        got = collector.received()
    finally:
        stop_workers(state)
    spans = spans_of(got)
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"
    written = [
        json.loads(line)
        for line in (hook_project.path / ".claude" / "logs" / "traces.jsonl").read_text().splitlines()
    ]
    assert len(spans) == len([r for r in written if r["type"] == "span"])  # tool spans wait for their end
    calls = sorted(
        str(s["attributes"].get("gen_ai.tool.call.id")) for s in spans if s["name"] == "PreToolUse"
    )
    assert calls == sorted(f"toolu_crash_{i}" for i in range(8))
