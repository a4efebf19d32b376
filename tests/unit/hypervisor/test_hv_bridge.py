"""The learning bridge: the log of attempts, flaky phases, ETA and lessons for retries."""

from __future__ import annotations

from pathlib import Path

from lib.hypervisor.bridge import (
    LearningEvent,
    LearningLog,
    estimate_remaining,
    lesson_from_output,
    lessons_for,
    phase_history,
)


def ev(phase: str, outcome: str, duration: float = 1.0, **kw: object) -> LearningEvent:
    data: dict[str, object] = {
        "ts": "2026-01-01T00:00:00Z",
        "plan": "p",
        "phase": phase,
        "run_id": "r",
        "attempt": 1,
        "outcome": outcome,
        "duration_s": duration,
    }
    data.update(kw)
    return LearningEvent.model_validate(data)


def test_the_log_round_trips_and_skips_lines_it_cannot_read(tmp_path: Path) -> None:
    log = LearningLog(tmp_path / "state" / "learning.jsonl")
    log.append(ev("1", "failed", error="validation exited 1", cost_usd=0.5))
    log.append(ev("1", "passed"))
    log.close()
    with (tmp_path / "state" / "learning.jsonl").open("ab") as handle:
        handle.write(b'{"not": "an event"}\n{"torn": \n')
    log.append(ev("2", "passed").model_copy(update={"plan": "other"}))
    events = log.events("p")
    assert [(e.phase, e.outcome) for e in events] == [("1", "failed"), ("1", "passed")]
    assert events[0].cost_usd == 0.5
    assert len(log.events()) == 3


def test_a_missing_log_has_no_events(tmp_path: Path) -> None:
    assert LearningLog(tmp_path / "none.jsonl").events() == []


def test_flaky_means_both_failed_and_passed_recently() -> None:
    events = [ev("1", "failed"), ev("1", "passed", 4.0), ev("2", "passed", 2.0), ev("2", "passed", 6.0)]
    one, two = phase_history(events, "1"), phase_history(events, "2")
    assert one.flaky and not two.flaky
    assert one.failure_rate == 0.5
    assert two.median_pass_duration_s == 4.0
    assert phase_history([ev("3", "transient")], "3").transient == 1
    assert not phase_history([ev("3", "transient"), ev("3", "passed")], "3").flaky


def test_flakiness_forgets_old_history() -> None:
    events = [ev("1", "failed")] + [ev("1", "passed") for _ in range(25)]
    assert not phase_history(events, "1").flaky


def test_eta_sequential_sums_and_parallel_takes_the_slowest_per_wave() -> None:
    events = [ev("1", "passed", 10.0), ev("2", "passed", 4.0), ev("3", "passed", 6.0)]
    histories = {p: phase_history(events, p) for p in ("1", "2", "3", "4")}
    seq = estimate_remaining(["1", "2", "3", "4"], histories)
    assert (seq.seconds, seq.known, seq.unknown) == (20.0, 3, 1)
    par = estimate_remaining(["1", "2", "3", "4"], histories, [["1"], ["2", "3"], ["4"]])
    assert par.seconds == 16.0


def test_lessons_come_newest_first_and_skip_repeated_failures() -> None:
    events = [
        ev("1", "failed", attempt=1, error="validation exited 1", validation_digest="a", lesson="missing x"),
        ev("1", "failed", attempt=2, error="validation exited 1", validation_digest="a", lesson="missing x"),
        ev("1", "failed", attempt=3, error="timed out", validation_digest=None),
        ev("1", "passed"),
        ev("2", "failed", error="other phase"),
    ]
    lessons = lessons_for(events, "1")
    assert len(lessons) == 2
    assert lessons[0].startswith("run r attempt 3") and "timed out" in lessons[0]
    assert "it reported: missing x" in lessons[1]


def test_a_lesson_is_the_last_lines_of_the_output() -> None:
    assert lesson_from_output("a\n\nb\nc\nd\n") == "b | c | d"
    assert lesson_from_output("  \n") is None
