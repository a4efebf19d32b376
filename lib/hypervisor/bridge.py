"""The learning bridge: every phase attempt becomes a :class:`LearningEvent` in a JSONL log.

The log (``<state dir>/learning.jsonl``, appended through :mod:`lib.jsonl`) feeds back into the
hypervisor: ``status`` shows flaky phases and an ETA from past durations, and a retry's prompt
carries the lessons of earlier failures of the same phase. The analysis functions are pure.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from lib.jsonl import JsonlReader, JsonlWriter

__all__ = [
    "LearningEvent",
    "LearningLog",
    "PhaseHistory",
    "estimate_remaining",
    "lessons_for",
    "phase_history",
]

AttemptOutcome = Literal["passed", "failed", "transient", "interrupted", "crashed"]

# How many recent attempts of a phase decide whether it is flaky.
FLAKY_WINDOW = 20


class LearningEvent(BaseModel):
    """One attempt of one phase, as the learning log records it."""

    model_config = ConfigDict(extra="ignore")

    ts: str
    plan: str
    phase: str
    run_id: str
    attempt: int
    outcome: AttemptOutcome
    duration_s: float
    executor: str = ""
    error_class: str | None = None
    error: str | None = None
    cost_usd: float | None = None
    tokens: dict[str, int] | None = None
    """Input, output, cache read and cache write tokens of the attempt, when the executor said."""
    pid: int | None = None
    started_at: str | None = None
    session_id: str | None = None
    validation_digest: str | None = None
    lesson: str | None = None


class LearningLog:
    """Append-only log of :class:`LearningEvent` records (one writer: the hypervisor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: JsonlWriter | None = None

    def append(self, event: LearningEvent) -> None:
        """Add one event."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = JsonlWriter(str(self.path))
        self._writer.append(event.model_dump(mode="json", exclude_none=True))

    def events(self, plan: str | None = None) -> list[LearningEvent]:
        """Every readable event (of ``plan`` when given), oldest first; bad lines are skipped."""
        if not self.path.exists():
            return []
        out: list[LearningEvent] = []
        with JsonlReader(str(self.path), decoder=orjson.loads) as reader:
            for entry in reader:
                try:
                    event = LearningEvent.model_validate(entry.record)
                except ValidationError:
                    continue
                if plan is None or event.plan == plan:
                    out.append(event)
        return out

    def close(self) -> None:
        """Close the writer's descriptors."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass(frozen=True)
class PhaseHistory:
    """What the log says about one phase."""

    phase: str
    attempts: int
    passes: int
    failures: int
    transient: int
    median_pass_duration_s: float | None
    last_error: str | None
    flaky: bool

    @property
    def failure_rate(self) -> float:
        """Failed attempts over decided attempts (passes and failures) in the history."""
        decided = self.passes + self.failures
        return self.failures / decided if decided else 0.0


def phase_history(events: Iterable[LearningEvent], phase: str) -> PhaseHistory:
    """Summarise the events of ``phase``.

    Flaky: within its last :data:`FLAKY_WINDOW` decided attempts the phase both failed and passed
    (it needed retries, or passes in one run and fails in another).
    """
    mine = [e for e in events if e.phase == phase]
    decided = [e for e in mine if e.outcome in ("passed", "failed")]
    recent = decided[-FLAKY_WINDOW:]
    passes = [e for e in mine if e.outcome == "passed"]
    failures = [e for e in mine if e.outcome == "failed"]
    durations = [e.duration_s for e in passes]
    last_error = next((e.error for e in reversed(mine) if e.outcome != "passed" and e.error), None)
    flaky = any(e.outcome == "passed" for e in recent) and any(e.outcome == "failed" for e in recent)
    return PhaseHistory(
        phase=phase,
        attempts=len(mine),
        passes=len(passes),
        failures=len(failures),
        transient=sum(1 for e in mine if e.outcome == "transient"),
        median_pass_duration_s=statistics.median(durations) if durations else None,
        last_error=last_error,
        flaky=flaky,
    )


@dataclass(frozen=True)
class Estimate:
    """Expected remaining time: ``seconds`` for the phases with history, ``unknown`` without."""

    seconds: float
    known: int
    unknown: int


def estimate_remaining(
    remaining: Sequence[str],
    histories: dict[str, PhaseHistory],
    waves: Sequence[Sequence[str]] | None = None,
) -> Estimate:
    """ETA from the median passing duration of each remaining phase.

    Sequential: the sum. With ``waves`` (parallel): the sum over waves of the slowest remaining
    phase in each wave.
    """
    todo = set(remaining)
    known = unknown = 0
    durations: dict[str, float] = {}
    for phase in remaining:
        history = histories.get(phase)
        if history is not None and history.median_pass_duration_s is not None:
            durations[phase] = history.median_pass_duration_s
            known += 1
        else:
            unknown += 1
    if waves is None:
        return Estimate(sum(durations.values()), known, unknown)
    total = 0.0
    for wave in waves:
        in_wave = [durations[p] for p in wave if p in todo and p in durations]
        total += max(in_wave, default=0.0)
    return Estimate(total, known, unknown)


def lessons_for(events: Iterable[LearningEvent], phase: str, limit: int = 3) -> list[str]:
    """Short lessons from the most recent distinct failures of ``phase`` (newest first).

    Failures with the same validation output digest count once.
    """
    lessons: list[str] = []
    seen: set[str] = set()
    for event in reversed([e for e in events if e.phase == phase and e.outcome == "failed"]):
        key = event.validation_digest or event.error or ""
        if key in seen:
            continue
        seen.add(key)
        what = event.error or event.error_class or "failed"
        text = f"run {event.run_id} attempt {event.attempt} ({event.ts[:19]}): {what}"
        if event.lesson:
            text += f"; it reported: {event.lesson}"
        lessons.append(text)
        if len(lessons) >= limit:
            break
    return lessons


def lesson_from_output(output: str, max_lines: int = 3, max_chars: int = 300) -> str | None:
    """The last non-empty lines of a validation output, squeezed into one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    text = " | ".join(lines[-max_lines:])
    return text[-max_chars:]
