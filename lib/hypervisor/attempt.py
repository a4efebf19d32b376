"""One attempt of a phase, in its worker thread: the executor, then the validation script.

The worker never touches run state; it reports to the runner's queue with the messages defined
here (:class:`Spawned` for every child process it starts, then :class:`AttemptDone` or
:class:`AttemptCrashed`). :func:`attempt_env` is the environment every child of an attempt gets.
"""

from __future__ import annotations

import os
import queue
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lib.hypervisor.checkpoints import ValidationRecord
from lib.hypervisor.executors import AttemptContext, ExecutorResult
from lib.hypervisor.interfaces import AgentDelegationEngine
from lib.hypervisor.plan import Phase
from lib.hypervisor.process import AttemptControl
from lib.hypervisor.validation import run_validation

__all__ = ["AttemptCrashed", "AttemptDone", "Message", "Spawned", "attempt_env", "run_attempt"]


@dataclass
class AttemptDone:
    """The attempt finished: the executor's result and the validation's verdict."""

    phase_id: str
    attempt: int
    result: ExecutorResult
    validation: ValidationRecord | None
    validation_error: str | None
    passed: bool


@dataclass
class AttemptCrashed:
    """The worker itself failed (a bug): reported as the attempt's failure."""

    phase_id: str
    attempt: int
    error: str


@dataclass
class Spawned:
    """A child process of the attempt started (the executor, then the validation script)."""

    phase_id: str
    attempt: int
    pid: int


Message = AttemptDone | AttemptCrashed | Spawned


def attempt_env(
    phase: Phase,
    *,
    run_id: str,
    plan_name: str,
    plan_dir: Path,
    state_dir: Path,
    attempt: int,
    previous_error: str | None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of an attempt's children: ours, the phase's ``env``, and the run's ids.

    ``HYPERVISOR_RUN_ID`` and ``HYPERVISOR_PHASE`` also reach the hooks of a Claude session, which
    add them to their log records, spans and events.
    """
    env = dict(os.environ if base is None else base)
    env.update(phase.meta.env)
    env.update(
        {
            "HYPERVISOR_RUN_ID": run_id,
            "HYPERVISOR_PLAN": plan_name,
            "HYPERVISOR_PLAN_DIR": str(plan_dir),
            "HYPERVISOR_STATE_DIR": str(state_dir),
            "HYPERVISOR_PHASE": phase.id,
            "HYPERVISOR_ATTEMPT": str(attempt),
        }
    )
    if attempt > 1 and previous_error:
        env["HYPERVISOR_PREVIOUS_ERROR"] = previous_error
    else:
        env.pop("HYPERVISOR_PREVIOUS_ERROR", None)
    return env


def run_attempt(
    ctx: AttemptContext,
    engine: AgentDelegationEngine,
    control: AttemptControl,
    *,
    validation_timeout: float,
    report: queue.Queue[Message],
) -> None:
    """Worker thread: run the executor, then the validation script; put the outcome on ``report``."""
    phase = ctx.phase
    try:
        result = engine.run(ctx, control)
        validation: ValidationRecord | None = None
        validation_error: str | None = None
        passed = result.ok
        script = phase.meta.validation_script
        if script and result.outcome in ("success", "failed") and not control.cancelled:
            outcome = run_validation(
                script,
                plan_dir=ctx.plan_dir,
                project_dir=ctx.project_dir,
                env=ctx.env,
                output_path=ctx.output_path.with_suffix(".validation.log"),
                timeout=phase.meta.validation_timeout or validation_timeout,
                control=control,
                kill_grace=ctx.kill_grace,
            )
            validation = outcome.record
            validation_error = outcome.error
            passed = outcome.passed and not control.cancelled
        elif control.cancelled and result.outcome == "success":
            passed = False
            result.outcome = "interrupted"
            result.error = control.reason or "interrupted"
        report.put(AttemptDone(phase.id, ctx.attempt, result, validation, validation_error, passed))
    except Exception:  # a bug here must not hang the run: report it as this phase's failure
        report.put(AttemptCrashed(phase.id, ctx.attempt, traceback.format_exc(limit=5)))
