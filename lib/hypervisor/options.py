"""A run's settings and outcome codes: modes, options, exit codes, and which phases it covers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lib.hypervisor.plan import Plan
from lib.hypervisor.retry import RetryPolicy

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "Mode",
    "OrphanPolicy",
    "RunOptions",
    "RunStatus",
    "RunUnavailable",
    "select_phases",
]

EXIT_OK = 0
"""Every selected phase passed (or was already passed and skipped by ``--resume``)."""
EXIT_FAILED = 1
"""At least one phase failed, or phases were not run because of a failure or an open breaker."""
EXIT_INVALID = 2
"""The plan (or the command line) is invalid; nothing ran."""
EXIT_UNAVAILABLE = 3
"""The run could not start: another hypervisor runs this plan, or the state folder is unusable."""
EXIT_INTERRUPTED = 130
"""Ctrl-C / SIGTERM (or ``quit`` in interactive mode); running phases were stopped and recorded."""


class Mode(StrEnum):
    """How phases are run."""

    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    INTERACTIVE = "interactive"
    DRY_RUN = "dry_run"


class OrphanPolicy(StrEnum):
    """What ``--resume`` does with an attempt whose process group outlived a crashed runner."""

    KILL = "kill"
    WAIT = "wait"


class RunStatus(StrEnum):
    """How a run ended."""

    PASSED = "passed"
    FAILED = "failed"
    BREAKER_OPEN = "breaker_open"
    BUDGET_EXHAUSTED = "budget_exhausted"
    INTERRUPTED = "interrupted"
    QUIT = "quit"

    @property
    def exit_code(self) -> int:
        """The process exit code for this status."""
        if self is RunStatus.PASSED:
            return EXIT_OK
        if self in (RunStatus.INTERRUPTED, RunStatus.QUIT):
            return EXIT_INTERRUPTED
        return EXIT_FAILED


@dataclass
class RunOptions:
    """Settings of one run (the command line's options)."""

    mode: Mode = Mode.SEQUENTIAL
    project_dir: Path = field(default_factory=Path.cwd)
    state_dir: Path | None = None
    resume: bool = False
    only: Sequence[str] = ()
    from_phase: str | None = None
    max_parallel: int = 4
    keep_going: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    phase_timeout: float | None = None
    claude_timeout: float = 3600.0
    validation_timeout: float = 600.0
    kill_grace: float = 5.0
    sequential_fallback: bool = True
    session_breaker_limit: int = 3
    tick: float = 0.1
    mesh_poll_interval: float = 0.5
    budget_usd: float | None = None
    """The whole run's spending cap (``--max-budget-usd``, or ``budget_usd`` in the plan)."""
    orphans: OrphanPolicy = OrphanPolicy.KILL
    """``--resume``: kill or wait for attempts still running from a crashed run."""
    worktrees: bool = True
    """Parallel mode: run each Claude phase in its own ``git worktree`` (when the project is a repo)."""
    assume_done: Sequence[str] = ()
    """Phases outside the plan folder that count as passed (``--assume-done``)."""

    def resolved_state_dir(self, plan_dir: Path) -> Path:
        """The state folder: ``--state-dir`` or ``<plan dir>/.hypervisor``."""
        return self.state_dir if self.state_dir is not None else plan_dir / ".hypervisor"


class RunUnavailable(Exception):
    """The run cannot start (the plan is locked by another hypervisor)."""


def select_phases(plan: Plan, only: Sequence[str] = (), from_phase: str | None = None) -> list[str]:
    """The phases a run covers, in execution order.

    ``only``: exactly these. ``from_phase``: that phase and every phase after it in the execution
    order. Unknown ids raise ``ValueError`` naming them.
    """
    order = list(plan.graph.order)
    unknown = [p for p in [*only, *([from_phase] if from_phase else [])] if p not in plan.phases]
    if unknown:
        raise ValueError(f"unknown phase id {', '.join(unknown)}; the plan has {', '.join(order)}")
    if only:
        wanted = set(only)
        return [p for p in order if p in wanted]
    if from_phase is not None:
        return order[order.index(from_phase) :]
    return order
