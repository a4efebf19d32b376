"""One phase during a run: the runner's bookkeeping for it, and what that becomes on record
(its checkpoint, its learning event, its bus payload, its line in the report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.hypervisor import accounting
from lib.hypervisor.attempt import AttemptDone
from lib.hypervisor.bridge import LearningEvent, lesson_from_output
from lib.hypervisor.checkpoints import Checkpoint, PhaseStatus, ValidationRecord, utc_now
from lib.hypervisor.executors import ExecutorResult
from lib.hypervisor.plan import Phase
from lib.hypervisor.process import AttemptControl
from lib.hypervisor.report import PhaseReport

__all__ = ["ATTEMPT_LOG_LIMIT", "PhaseRun"]

ATTEMPT_LOG_LIMIT = 50
"""How many attempts a checkpoint's ``attempt_log`` keeps (the learning log keeps them all)."""


@dataclass
class PhaseRun:
    """The main thread's bookkeeping for one phase during the run."""

    phase: Phase
    attempts: int = 0
    failures: int = 0
    transient: int = 0
    first_started: float | None = None
    started_at: str | None = None
    attempt_started: float | None = None
    attempt_started_at: str | None = None
    control: AttemptControl | None = None
    retry_at: float | None = None
    session_id: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    overlapped: bool = False
    last_error: str | None = None
    last_error_class: str | None = None
    last_validation: ValidationRecord | None = None
    last_result: ExecutorResult | None = None
    executor: str = ""
    final_status: str | None = None
    ended: float | None = None
    spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """This run's attempts of the phase, summed."""
    earlier_spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """Earlier runs' attempts (from the checkpoint)."""
    attempt_log: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    workdir: Path | None = None

    @classmethod
    def resumed(cls, phase: Phase, previous: Checkpoint | None) -> PhaseRun:
        """A phase's bookkeeping, carrying on its spend and attempt log from its checkpoint."""
        run = cls(phase=phase)
        if previous is not None:
            run.earlier_spend = dict(previous.spend)
            run.attempt_log = list(previous.attempt_log)
        return run

    def begin_attempt(self, run_id: str, now: float) -> None:
        """Count a new attempt and start its entry in the attempt log."""
        self.attempts += 1
        self.attempt_started = now
        self.attempt_started_at = utc_now()
        if self.first_started is None:
            self.first_started = now
            self.started_at = self.attempt_started_at
        self.pid = self.pid_start = None
        self.attempt_log.append(
            {
                "run_id": run_id,
                "attempt": self.attempts,
                "started_at": self.attempt_started_at,
                "outcome": "running",
            }
        )

    def spawned(self, pid: int, started: int | None) -> None:
        """A child of the current attempt started (the executor, then the validation script)."""
        self.pid, self.pid_start = pid, started
        if self.attempt_log:
            self.attempt_log[-1].setdefault("pids", []).append(pid)

    def end_attempt(self, outcome: str, result: ExecutorResult) -> None:
        """Close the current attempt's log entry and add its spend."""
        if self.attempt_log:
            entry = self.attempt_log[-1]
            entry.update({"ended_at": utc_now(), "outcome": outcome})
            if self.pid is not None:
                entry["pid"] = self.pid
            if result.spend:
                entry["spend"] = result.spend
        if result.spend:
            self.spend = accounting.add(self.spend, result.spend)

    def checkpoint(
        self,
        status: PhaseStatus,
        *,
        plan_name: str,
        run_id: str,
        total_s: float | None,
        duration: float | None,
        activity: Mapping[str, int] | None,
        input_digest: str | None,
        dependencies: dict[str, str],
    ) -> Checkpoint:
        """The checkpoint recording this phase in ``status``."""
        running = status is PhaseStatus.RUNNING
        passed = status is PhaseStatus.PASSED
        result = None if running else self.last_result
        return Checkpoint(
            plan=plan_name,
            phase=self.phase.id,
            title=self.phase.title,
            status=status,
            attempts=self.attempts,
            failures=self.failures,
            run_id=run_id,
            started_at=self.started_at,
            ended_at=None if running else utc_now(),
            duration_s=None if running else total_s,
            executor=self.executor or None,
            executor_result=_result_summary(result, duration),
            validation=None if running else self.last_validation,
            session_id=self.session_id or (result.session_id if result else None),
            phase_digest=self.phase.digest,
            input_digest=input_digest if passed else None,
            dependencies=dependencies if passed else {},
            error=None if running or passed else self.last_error,
            error_class=None if running or passed else self.last_error_class,
            pid=self.pid if running else None,
            pid_start=self.pid_start if running else None,
            hook_activity=dict(activity or {}),
            spend=accounting.add(self.earlier_spend, self.spend),
            attempt_log=self.attempt_log[-ATTEMPT_LOG_LIMIT:],
        )

    def payload(self, duration: float) -> dict[str, Any]:
        """The phase's event on the bus."""
        payload: dict[str, Any] = {
            "phase": self.phase.id,
            "title": self.phase.title,
            "attempt": self.attempts,
            "duration_s": round(duration, 3),
            "executor": self.executor,
        }
        if self.last_error:
            payload["error"] = self.last_error[:500]
            payload["error_class"] = self.last_error_class
        if self.session_id:
            payload["session_id"] = self.session_id
        if self.last_result is not None and self.last_result.cost_usd is not None:
            payload["cost_usd"] = self.last_result.cost_usd
        if self.spend:
            payload["spend"] = self.spend
        return payload

    def learning_event(
        self, done: AttemptDone, outcome: str, duration: float, *, plan_name: str, run_id: str
    ) -> LearningEvent:
        """The learning log's record of the attempt that just ended."""
        lesson = None
        if done.validation is not None and not done.passed:
            lesson = lesson_from_output(done.validation.tail)
        elif not done.passed and done.result.output_tail:
            lesson = lesson_from_output(done.result.output_tail)
        error = self.last_error if outcome != "passed" else None
        tokens = {k: int(done.result.spend[k]) for k in accounting.TOKEN_FIELDS if k in done.result.spend}
        return LearningEvent(
            ts=utc_now(),
            plan=plan_name,
            phase=self.phase.id,
            run_id=run_id,
            attempt=done.attempt,
            outcome=outcome,  # type: ignore[arg-type]
            duration_s=round(duration, 3),
            executor=self.executor,
            error_class=self.last_error_class if outcome != "passed" else None,
            error=error[:500] if error else None,
            cost_usd=done.result.cost_usd,
            tokens=tokens or None,
            pid=self.pid,
            started_at=self.attempt_started_at,
            session_id=done.result.session_id or self.session_id,
            validation_digest=done.validation.digest if done.validation else None,
            lesson=lesson,
        )

    def report(self, slot: str) -> PhaseReport:
        """The phase's line in the run's report."""
        total = None
        if self.first_started is not None and self.ended is not None:
            total = self.ended - self.first_started
        return PhaseReport(
            self.phase.id,
            self.final_status or slot,
            attempts=self.attempts,
            duration_s=total,
            error=self.last_error if self.final_status != "passed" else None,
            spend=self.spend,
        )


def _result_summary(result: ExecutorResult | None, duration: float | None) -> dict[str, Any]:
    if result is None:
        return {}
    summary: dict[str, Any] = {"outcome": result.outcome}
    if result.exit_code is not None:
        summary["exit_code"] = result.exit_code
    summary.update({k: v for k, v in result.summary.items() if k != "exit_code"})
    if duration is not None:
        summary["attempt_duration_s"] = round(duration, 3)
    if result.cost_usd is not None:
        summary["cost_usd"] = result.cost_usd
    if result.error and "error" not in summary:
        summary["error"] = result.error[:500]
    return summary
