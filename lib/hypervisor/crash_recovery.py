"""Settling what a crashed run left behind, before a new run starts (it holds the plan's lock).

- run records still ``running`` are rewritten as ``crashed``;
- an attempt whose process group is still alive is killed or waited for (``--orphans``), never
  run a second time next to itself;
- each phase that was ``running`` or ``retrying`` gets a ``crashed`` checkpoint, and the attempt
  that died gets its learning event.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from pathlib import Path

from lib.hypervisor.bridge import LearningEvent, LearningLog
from lib.hypervisor.checkpoints import CheckpointRead, PhaseStatus, utc_now
from lib.hypervisor.interfaces import MemoryManager
from lib.hypervisor.orphans import settle
from lib.hypervisor.plan import Plan
from lib.hypervisor.resume import ResumeState
from lib.hypervisor.run_record import mark_crashed

__all__ = ["recover"]


def recover(
    *,
    plan: Plan,
    state_dir: Path,
    decision: ResumeState,
    reads: MutableMapping[str, CheckpointRead],
    memory: MemoryManager,
    learning: LearningLog,
    run_id: str,
    wait: bool,
    grace: float,
    say: Callable[[str], None],
) -> list[LearningEvent]:
    """Settle the crashed run(s); updates ``reads`` and returns the learning events written."""
    for old in mark_crashed(state_dir, run_id):
        say(f"run {old} had not finished (its runner died): recorded as crashed")
    for orphan in decision.orphans:
        done = settle(
            orphan.pid,
            orphan.pid_start,
            wait=wait,
            grace=grace,
            say=say,
            what=f"phase {orphan.phase} (attempt {orphan.attempt} of run {orphan.run_id or '?'})",
        )
        if done:
            say(f"phase {orphan.phase}: {done} the process group {orphan.pid} of the crashed run")
    events: list[LearningEvent] = []
    for phase_id in decision.crashed:
        read = reads[phase_id]
        cp = read.checkpoint
        if cp is None:
            continue
        ended = utc_now()
        log = [dict(entry) for entry in cp.attempt_log]
        if cp.status is PhaseStatus.RUNNING:
            entry = next(
                (
                    e
                    for e in reversed(log)
                    if e.get("run_id") == cp.run_id and e.get("attempt") == cp.attempts
                ),
                None,
            )
            if entry is not None:
                entry.setdefault("ended_at", ended)
                entry["outcome"] = "crashed"
            event = LearningEvent(
                ts=ended,
                plan=plan.name,
                phase=phase_id,
                run_id=cp.run_id or "?",
                attempt=cp.attempts,
                outcome="crashed",
                duration_s=0.0,
                executor=cp.executor or "",
                error_class="crashed",
                error=f"the hypervisor running it (run {cp.run_id or '?'}) died; found by run {run_id}",
                session_id=cp.session_id,
                pid=cp.pid,
                started_at=entry.get("started_at") if entry else None,
            )
            try:
                learning.append(event)
                events.append(event)
            except OSError as exc:
                say(f"warning: cannot append to the learning log {learning.path}: {exc}")
        crashed = cp.model_copy(
            update={
                "status": PhaseStatus.CRASHED,
                "ended_at": ended,
                "error": f"run {cp.run_id or '?'} stopped while this phase was {cp.status}; found by run {run_id}",
                "error_class": "crashed",
                "pid": None,
                "pid_start": None,
                "attempt_log": log,
            }
        )
        try:
            memory.save(plan.phases[phase_id], crashed)
        except OSError as exc:
            say(f"warning: cannot write the checkpoint of phase {phase_id}: {exc}")
        reads[phase_id] = CheckpointRead(read.path, checkpoint=crashed, format=read.format)
    return events
