"""Prompt assembly, the hook-activity monitor and the progress line (pure pieces)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from lib.hypervisor.monitor import SessionMonitor, classify_hook_event
from lib.hypervisor.progress import (
    Progress,
    ProgressSnapshot,
    RunningPhase,
    format_duration,
    format_progress_line,
)
from lib.hypervisor.prompt import PromptInputs, build_prompt


def test_a_first_attempt_prompt_has_instructions_and_the_validation_command() -> None:
    prompt = build_prompt(
        PromptInputs("plan-x", "11", "Shared Infrastructure", "# Phase 11\n\nBuild it.\n", 1, "python v.py")
    )
    assert "phase 11 (Shared Infrastructure)" in prompt and "'plan-x'" in prompt
    assert "Build it." in prompt
    assert "`python v.py`" in prompt
    assert "previous attempt" not in prompt


def test_a_retry_prompt_carries_the_previous_validation_output_lessons_and_recovery_plan() -> None:
    prompt = build_prompt(
        PromptInputs(
            "p",
            "4",
            "Integrate",
            "Body",
            attempt=3,
            previous_error="validation exited 1",
            previous_validation_output="FAILED test_x: expected 2 got 3\n",
            recovery_plan="fall back to sequential",
            lessons=["run r1 attempt 1: timed out"],
        )
    )
    assert "attempt 3" in prompt
    assert "validation exited 1" in prompt
    assert "FAILED test_x: expected 2 got 3" in prompt
    assert "fall back to sequential" in prompt
    assert "- run r1 attempt 1: timed out" in prompt


@dataclass
class Ev:
    topic: str
    payload: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None


def test_bus_topics_are_classified() -> None:
    assert classify_hook_event("tool.pre", {"tool_name": "Bash"}) == "tool_call"
    assert classify_hook_event("tool.failure", {}) == "tool_failure"
    assert classify_hook_event("breaker.opened", {"key": "Bash:npm"}) == "breaker_opened"
    assert classify_hook_event("breaker.closed", {"key": "Bash:npm"}) == "breaker_closed"
    assert classify_hook_event("breaker.half_open", {}) is None
    assert classify_hook_event("phase.started", {"session_id": "s"}) is None


def test_the_monitor_counts_only_watched_sessions_and_flags_breaker_trippers_once() -> None:
    monitor = SessionMonitor(breaker_limit=2)
    monitor.watch("4", "sess-a")
    events = [
        Ev("tool.pre", {}, "sess-a"),
        Ev("tool.pre", {}, "other"),
        Ev("tool.failure", {}, "sess-a"),
        Ev("breaker.opened", {"key": "Bash:npm"}, "sess-a"),
        Ev("tool.pre", {}),
        Ev("tool.pre", {"session_id": "sess-a"}),  # a payload-level session id counts too
    ]
    assert monitor.feed(events) == []
    assert monitor.activity("4") == {
        "tool_calls": 2,
        "tool_failures": 1,
        "breaker_trips": 1,
        "breakers_open": 1,
    }
    monitor.feed([Ev("breaker.closed", {"key": "Bash:npm"}, "sess-a")])
    assert monitor.activity("4")["breakers_open"] == 0
    assert monitor.feed([Ev("breaker.opened", {"key": "Read"}, "sess-a")]) == ["4"]
    assert monitor.feed([Ev("breaker.opened", {"key": "Edit"}, "sess-a")]) == []
    final = monitor.forget("4")
    assert final["breaker_trips"] == 3 and final["breakers_open"] == 2
    assert not monitor.watching()


def test_durations_read_well() -> None:
    assert [format_duration(s) for s in (None, 0.25, 12.34, 245, 3725)] == [
        "-",
        "250ms",
        "12.3s",
        "4m05s",
        "1h02m",
    ]


def test_the_progress_line_shows_counts_running_phases_activity_and_eta() -> None:
    line = format_progress_line(
        ProgressSnapshot(
            total=6,
            passed=2,
            failed=1,
            skipped=0,
            running=[RunningPhase("4", 2, 12.0, tool_calls=5, tool_failures=1, breakers_open=1)],
            waiting_retry=1,
            eta_s=90,
        )
    )
    assert line == (
        "[3/6] 2 passed · 1 failed · running 4#2 12.0s (5 tools, 1 failed, 1 breaker open) · "
        "1 waiting to retry · ETA ~1m30s"
    )
    assert (
        len(
            format_progress_line(
                ProgressSnapshot(6, 0, 0, 0, [RunningPhase(str(i), 1, 1) for i in range(99)]), 80
            )
        )
        == 80
    )


def test_on_a_terminal_the_live_line_is_redrawn_in_place() -> None:
    out, live = io.StringIO(), io.StringIO()
    progress = Progress(out, live, interactive_terminal=True)
    progress.update(ProgressSnapshot(2, 0, 0, 0))
    progress.event("phase 1 passed")
    progress.close()
    assert out.getvalue() == "phase 1 passed\n"
    assert live.getvalue().count("\r\x1b[2K[0/2] 0 passed") == 2  # drawn, then redrawn after the event


def test_without_a_terminal_the_live_line_is_throttled() -> None:
    now = [0.0]
    out, live = io.StringIO(), io.StringIO()
    progress = Progress(out, live, interactive_terminal=False, plain_interval=30, clock=lambda: now[0])
    progress.update(ProgressSnapshot(2, 0, 0, 0))
    assert live.getvalue() == ""
    now[0] = 31
    progress.update(ProgressSnapshot(2, 1, 0, 0))
    now[0] = 32
    progress.update(ProgressSnapshot(2, 2, 0, 0))
    assert live.getvalue() == "[1/2] 1 passed\n"
    assert "\r" not in live.getvalue()
