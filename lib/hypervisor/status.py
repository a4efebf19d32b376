"""``status``: per phase its checkpoint (status, attempts, duration, last error) and its history
(flaky phases, an ETA from past durations). Reads only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import toon_format

from lib.hypervisor.bridge import LearningLog, estimate_remaining, phase_history
from lib.hypervisor.checkpoints import CheckpointStore, PhaseStatus
from lib.hypervisor.plan import Plan
from lib.hypervisor.progress import format_duration

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def _run_active(state_dir: Path) -> bool:
    """Whether a hypervisor holds the plan's lock right now (so a ``running`` status is real)."""
    lock_path = state_dir / "hypervisor.lock"
    if not lock_path.exists():
        return False
    import fcntl

    try:
        fd = os.open(lock_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def read_run_record(state_dir: Path) -> dict[str, Any] | None:
    """The last run's record (``run.toon``), or ``None``."""
    try:
        data = toon_format.loads((state_dir / "run.toon").read_text(encoding="utf-8"))
    except (OSError, ValueError, toon_format.ToonDecodeError):
        return None
    return data if isinstance(data, dict) else None


def collect_status(plan: Plan, state_dir: Path) -> tuple[list[PhaseStatusRow], dict[str, Any]]:
    """The rows of ``status`` and a summary (last run, ETA, whether a run is active)."""
    store = CheckpointStore(plan.directory, state_dir)
    events = LearningLog(state_dir / "learning.jsonl").events(plan.name)
    active = _run_active(state_dir)
    rows: list[PhaseStatusRow] = []
    remaining: list[str] = []
    histories = {}
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
        if status != "passed":
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
            )
        )
    sequential = estimate_remaining(remaining, histories)
    parallel = estimate_remaining(remaining, histories, plan.graph.waves)
    summary: dict[str, Any] = {
        "plan": plan.name,
        "active": active,
        "last_run": read_run_record(state_dir),
        "remaining": remaining,
        "eta_sequential_s": sequential.seconds if sequential.known else None,
        "eta_parallel_s": parallel.seconds if parallel.known else None,
        "eta_unknown_phases": sequential.unknown,
    }
    return rows, summary


def _cut(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_status(rows: list[PhaseStatusRow], summary: dict[str, Any], out: TextIO) -> None:
    """The human-readable table."""
    header = ("PHASE", "TITLE", "STATUS", "ATTEMPTS", "DURATION", "HISTORY", "LAST ERROR")
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
