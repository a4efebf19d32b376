"""``status``: per phase its checkpoint (status, attempts, duration, last error) and its history
(flaky phases, an ETA from past durations). Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lib.hypervisor.accounting import describe, total
from lib.hypervisor.bridge import LearningLog, PhaseHistory, estimate_remaining, phase_history
from lib.hypervisor.checkpoints import CheckpointStore, PhaseStatus
from lib.hypervisor.plan import Plan
from lib.hypervisor.progress import format_duration
from lib.hypervisor.run_record import latest_run, lock_held

__all__ = ["PhaseStatusRow", "collect_status", "print_status"]


@dataclass(frozen=True)
class PhaseStatusRow:
    """One line of ``status``."""

    phase: str
    title: str
    status: str
    attempts: int
    duration_s: float | None
    last_error: str | None
    flaky: bool
    failure_rate: float
    history_attempts: int
    median_duration_s: float | None
    checkpoint: str
    problem: str | None = None
    spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """Cost and tokens of every attempt of the phase so far (all runs)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def collect_status(plan: Plan, state_dir: Path) -> tuple[list[PhaseStatusRow], dict[str, Any]]:
    """The rows of ``status`` and a summary (last run, ETA, whether a run is active)."""
    store = CheckpointStore(plan.directory, state_dir)
    events = LearningLog(state_dir / "learning.jsonl").events(plan.name)
    active = lock_held(state_dir)
    rows: list[PhaseStatusRow] = []
    remaining: list[str] = []
    histories: dict[str, PhaseHistory] = {}
    for phase in plan.ordered():
        read = store.load(phase)
        cp = read.checkpoint
        history = phase_history(events, phase.id)
        histories[phase.id] = history
        status = "pending"
        if read.problem:
            status = "unreadable"
        elif cp is not None:
            status = str(cp.status)
            if cp.status in (PhaseStatus.RUNNING, PhaseStatus.RETRYING) and not active:
                status = "crashed"
            if cp.status is PhaseStatus.PASSED and cp.phase_digest and cp.phase_digest != phase.digest:
                status = "passed (file changed since)"
        if status not in ("passed", "skipped"):  # skipped: done by hand in interactive mode
            remaining.append(phase.id)
        rows.append(
            PhaseStatusRow(
                phase=phase.id,
                title=phase.title,
                status=status,
                attempts=cp.attempts if cp else 0,
                duration_s=cp.duration_s if cp else None,
                last_error=(cp.error if cp else None) or (history.last_error if status != "passed" else None),
                flaky=history.flaky,
                failure_rate=round(history.failure_rate, 3),
                history_attempts=history.attempts,
                median_duration_s=history.median_pass_duration_s,
                checkpoint=str(read.path),
                problem=read.problem,
                spend=dict(cp.spend) if cp else {},
            )
        )
    sequential = estimate_remaining(remaining, histories)
    parallel = estimate_remaining(remaining, histories, plan.graph.waves)
    summary: dict[str, Any] = {
        "plan": plan.name,
        "active": active,
        "last_run": latest_run(state_dir),
        "remaining": remaining,
        "eta_sequential_s": sequential.seconds if sequential.known else None,
        "eta_parallel_s": parallel.seconds if parallel.known else None,
        "eta_unknown_phases": sequential.unknown,
        "spend": total(r.spend for r in rows),
    }
    return rows, summary


def _cut(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_status(rows: list[PhaseStatusRow], summary: dict[str, Any], out: TextIO) -> None:
    """The human-readable table."""
    header = ("PHASE", "TITLE", "STATUS", "ATTEMPTS", "DURATION", "COST", "HISTORY", "LAST ERROR")
    table: list[tuple[str, ...]] = [header]
    for row in rows:
        history = "-"
        if row.history_attempts:
            history = f"{row.history_attempts} attempts"
            if row.flaky:
                history = f"FLAKY, {row.failure_rate:.0%} of {row.history_attempts} failed"
            elif row.failure_rate:
                history = f"{row.failure_rate:.0%} of {row.history_attempts} failed"
        table.append(
            (
                row.phase,
                _cut(row.title, 28),
                row.status,
                str(row.attempts),
                format_duration(row.duration_s),
                f"${row.spend['cost_usd']:.4f}" if "cost_usd" in row.spend else "-",
                history,
                _cut(row.problem or row.last_error, 60),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() + "\n")
    last = summary.get("last_run")
    if last:
        line = f"\nlast run {last.get('run_id')}: {last.get('status')} (mode {last.get('mode')}"
        if last.get("started_at"):
            line += f", started {last.get('started_at')}"
        if last.get("duration_s") is not None:
            line += f", took {format_duration(float(last['duration_s']))}"
        line += ")"
        if last.get("reason"):
            line += f"; {last['reason']}"
        out.write(line + "\n")
    if summary.get("spend"):
        out.write(f"spent so far (all runs): {describe(summary['spend'])}\n")
    if last and last.get("spend"):
        out.write(f"spent by the last run: {describe(last['spend'])}\n")
    if summary.get("active"):
        out.write("a run is in progress right now\n")
    flaky = [r.phase for r in rows if r.flaky]
    if flaky:
        out.write(f"flaky phases (failed and passed in their recent attempts): {', '.join(flaky)}\n")
    remaining = summary["remaining"]
    if not remaining:
        out.write("all phases passed\n")
        return
    eta = summary.get("eta_sequential_s")
    text = f"{len(remaining)} phase(s) to go"
    if eta is not None:
        text += f"; ETA ~{format_duration(eta)} sequential, ~{format_duration(summary['eta_parallel_s'])} parallel"
        if summary["eta_unknown_phases"]:
            text += f" (+{summary['eta_unknown_phases']} phase(s) with no history)"
    else:
        text += "; no history yet for an ETA"
    out.write(text + "\n")
