"""The outcome of a run, per phase and in total (with what it cost), and its final summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from lib.hypervisor.accounting import describe
from lib.hypervisor.options import RunStatus
from lib.hypervisor.progress import format_duration

__all__ = ["PhaseReport", "RunReport", "print_report"]


@dataclass
class PhaseReport:
    """How one phase ended in this run."""

    phase: str
    status: str
    attempts: int = 0
    duration_s: float | None = None
    error: str | None = None
    spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """Cost and tokens of this phase's attempts in this run."""


@dataclass
class RunReport:
    """The outcome of a run."""

    run_id: str
    status: RunStatus
    phases: dict[str, PhaseReport]
    reason: str | None = None
    duration_s: float = 0.0
    spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """Cost and tokens of every attempt of this run."""
    summary_path: str | None = None

    @property
    def exit_code(self) -> int:
        """The process exit code."""
        return self.status.exit_code

    def results(self) -> list[dict[str, Any]]:
        """Each phase's outcome as plain data (for the run record)."""
        return [
            {
                "phase": p.phase,
                "status": p.status,
                "attempts": p.attempts,
                **({"duration_s": round(p.duration_s, 3)} if p.duration_s is not None else {}),
                **({"spend": p.spend} if p.spend else {}),
            }
            for p in self.phases.values()
        ]


def print_report(report: RunReport, out: TextIO) -> None:
    """The final summary: the run's status, each phase, the totals, where the record is."""
    out.write(
        f"\nrun {report.run_id}: {report.status}" + (f" ({report.reason})" if report.reason else "") + "\n"
    )
    width = max((len(p) for p in report.phases), default=5)
    for phase_id, phase in report.phases.items():
        line = f"  {phase_id.ljust(width)}  {phase.status}"
        if phase.attempts:
            line += f", {phase.attempts} attempt(s), {format_duration(phase.duration_s)}"
        if phase.spend:
            line += f", {describe(phase.spend)}"
        if phase.error:
            line += f": {' '.join(phase.error.split())[:200]}"
        out.write(line + "\n")
    if report.spend:
        out.write(f"total: {describe(report.spend)}\n")
    if report.summary_path:
        out.write(f"run record: {report.summary_path}\n")
    out.write(f"exit code {report.exit_code}\n")
