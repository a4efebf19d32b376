"""What a run does with the state earlier runs left: which phases are done, which must run again.

Pure: the runner reads the checkpoints and hands them here with the plan. A passed phase is kept
(skipped by ``--resume``) only while nothing it was judged on changed: its file, its validation
script (``input_digest``) and every dependency's pass (``dependencies``: the pass each one had when
this phase passed). A phase that runs again makes its dependents run again too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib.hypervisor.checkpoints import Checkpoint, CheckpointRead, PhaseStatus
from lib.hypervisor.plan import Phase, Plan
from lib.hypervisor.validation import resolve_script

__all__ = ["DONE_STATUSES", "Orphan", "ResumeState", "input_digest", "pass_stamp", "plan_resume"]

DONE_STATUSES = (PhaseStatus.PASSED, PhaseStatus.SKIPPED)
"""Statuses that count as done for dependents (``skipped``: the user did it by hand)."""


def input_digest(phase: Phase, plan_dir: Path, project_dir: Path) -> str:
    """A digest of what a phase is judged on: its file and its validation script's content."""
    h = hashlib.sha256(phase.digest.encode())
    script = phase.meta.validation_script
    if script:
        path = resolve_script(script, plan_dir, project_dir)
        h.update(b"\0validation\0" + script.encode())
        if path is not None:
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"\0unreadable")
    return h.hexdigest()


def pass_stamp(cp: Checkpoint | None) -> str | None:
    """Which pass of a phase this is (its run and end time), ``None`` unless it is done."""
    if cp is None or cp.status not in DONE_STATUSES:
        return None
    return f"{cp.run_id}@{cp.ended_at or ''}"


@dataclass(frozen=True)
class Orphan:
    """An attempt a dead runner left: its phase, pid (the process group) and the pid's start time."""

    phase: str
    pid: int
    pid_start: int | None
    attempt: int
    run_id: str


@dataclass
class ResumeState:
    """The decision: phases that count as done, those skipped as passed, and what to tell the user."""

    satisfied: set[str] = field(default_factory=set[str])
    skipped: list[str] = field(default_factory=list[str])
    notes: list[str] = field(default_factory=list[str])
    quarantine: list[str] = field(default_factory=list[str])
    orphans: list[Orphan] = field(default_factory=list[Orphan])
    crashed: list[str] = field(default_factory=list[str])
    reruns: dict[str, str] = field(default_factory=dict[str, str])
    """Phases that passed before but run again, with the reason."""


def plan_resume(
    plan: Plan,
    selected: Sequence[str],
    reads: Mapping[str, CheckpointRead],
    digests: Mapping[str, str],
    *,
    resume: bool,
    assume_done: Collection[str] = (),
) -> ResumeState:
    """Decide what this run skips and runs, given each phase's checkpoint read and input digest."""
    state = ResumeState()
    for phase_id in plan.graph.order:
        read = reads[phase_id]
        cp = read.checkpoint
        if read.problem:
            state.notes.append(f"warning: {read.problem}")
        if cp is not None and cp.status in (PhaseStatus.RUNNING, PhaseStatus.RETRYING):
            # The caller holds the plan's lock, so the run that wrote this is gone.
            state.crashed.append(phase_id)
            if cp.status is PhaseStatus.RUNNING and cp.pid is not None:
                state.orphans.append(Orphan(phase_id, cp.pid, cp.pid_start, cp.attempts, cp.run_id))
            state.notes.append(
                f"phase {phase_id} was still {cp.status} when run {cp.run_id or '?'} stopped: "
                "recorded as crashed"
            )
    selected_set = set(selected)
    will_run: set[str] = set()
    for phase_id in plan.graph.order:
        if phase_id not in selected_set:
            continue
        cp = reads[phase_id].checkpoint
        deps = plan.graph.dependencies(phase_id)
        reason = (
            _stale_reason(cp, digests[phase_id], plan.phases[phase_id].digest, deps, reads, will_run)
            if resume
            else "not done"
        )
        if reason is None:
            state.satisfied.add(phase_id)
            state.skipped.append(phase_id)
            continue
        will_run.add(phase_id)
        if resume and reason != "not done":
            state.reruns[phase_id] = reason
            state.notes.append(f"phase {phase_id} passed before, but {reason}: running it again")
    # Dependencies outside the selection: fine when they passed before, else say so.
    for phase_id in selected:
        for dep in plan.graph.dependencies(phase_id):
            if dep in selected_set or dep in state.satisfied:
                continue
            state.satisfied.add(dep)
            if pass_stamp(reads[dep].checkpoint) is None:
                state.notes.append(
                    f"note: phase {phase_id} depends on phase {dep}, which is not selected and has "
                    "not passed; running it anyway"
                )
    for phase_id in selected:
        read = reads[phase_id]
        if read.problem and read.exists and phase_id not in state.satisfied:
            state.quarantine.append(phase_id)
    state.satisfied.update(assume_done)
    return state


def _stale_reason(
    cp: Checkpoint | None,
    digest: str,
    file_digest: str,
    deps: Sequence[str],
    reads: Mapping[str, CheckpointRead],
    will_run: Collection[str],
) -> str | None:
    """Why a phase must run again (``None``: its pass still holds)."""
    if pass_stamp(cp) is None or cp is None:
        return "not done"
    if cp.phase_digest and cp.phase_digest != file_digest:
        return "its file changed since"
    if cp.input_digest is not None and cp.input_digest != digest:
        return "its validation script changed since"
    for dep in deps:
        if dep in will_run:
            return f"phase {dep}, which it depends on, runs again"
        recorded = cp.dependencies.get(dep)
        current = pass_stamp(reads[dep].checkpoint) if dep in reads else None
        if recorded is not None and current is not None and recorded != current:
            return f"phase {dep}, which it depends on, passed again since"
    return None
