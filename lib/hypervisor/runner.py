"""The run: phases in dependency order through their executors, validated, checkpointed.

One process, one writer: the main thread owns every piece of run state (checkpoints, the
learning log, the run record, events). Each attempt of a phase runs in a worker thread (the
executor, then the validation script) and reports back through a queue; the main thread decides
what happens next (pass, retry after backoff, fail, stop) and writes it down.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from lib.hypervisor.bridge import LearningEvent, LearningLog, lesson_from_output, lessons_for
from lib.hypervisor.checkpoints import (
    Checkpoint,
    CheckpointRead,
    PhaseStatus,
    ValidationRecord,
    quarantine,
    utc_now,
    write_atomic,
)
from lib.hypervisor.executors import AttemptContext, ExecutorResult
from lib.hypervisor.interfaces import EventMesh, MemoryManager, SkillRouter
from lib.hypervisor.monitor import SessionMonitor
from lib.hypervisor.phase_breaker import PhaseFailureBreaker
from lib.hypervisor.plan import Phase, Plan
from lib.hypervisor.process import AttemptControl
from lib.hypervisor.progress import Progress, ProgressSnapshot, RunningPhase, format_duration
from lib.hypervisor.retry import RetryPolicy
from lib.hypervisor.schedule import Schedule, SlotState
from lib.hypervisor.validation import describe_validation, run_validation

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "Mode",
    "RunOptions",
    "RunReport",
    "RunStatus",
    "Runner",
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


class RunStatus(StrEnum):
    """How a run ended."""

    PASSED = "passed"
    FAILED = "failed"
    BREAKER_OPEN = "breaker_open"
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

    def resolved_state_dir(self, plan_dir: Path) -> Path:
        """The state folder: ``--state-dir`` or ``<plan dir>/.hypervisor``."""
        return self.state_dir if self.state_dir is not None else plan_dir / ".hypervisor"


@dataclass
class PhaseReport:
    """How one phase ended in this run."""

    phase: str
    status: str
    attempts: int = 0
    duration_s: float | None = None
    error: str | None = None


@dataclass
class RunReport:
    """The outcome of a run."""

    run_id: str
    status: RunStatus
    phases: dict[str, PhaseReport]
    reason: str | None = None
    duration_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """The process exit code."""
        return self.status.exit_code


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


@dataclass
class _PhaseRun:
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
    overlapped: bool = False
    last_error: str | None = None
    last_error_class: str | None = None
    last_validation: ValidationRecord | None = None
    last_result: ExecutorResult | None = None
    executor: str = ""
    final_status: str | None = None
    ended: float | None = None


@dataclass
class _AttemptDone:
    phase_id: str
    attempt: int
    result: ExecutorResult
    validation: ValidationRecord | None
    validation_error: str | None
    passed: bool


@dataclass
class _AttemptCrashed:
    phase_id: str
    attempt: int
    error: str


@dataclass
class _Spawned:
    phase_id: str
    attempt: int
    pid: int


class Runner:
    """Runs a plan (sequential, parallel or interactive; dry runs are :mod:`lib.hypervisor.dry_run`)."""

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        *,
        router: SkillRouter,
        memory: MemoryManager,
        mesh: EventMesh,
        learning: LearningLog,
        progress: Progress,
        ask: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if options.mode is Mode.DRY_RUN:
            raise ValueError("dry runs do not use the Runner; call lib.hypervisor.dry_run.dry_run")
        self.plan = plan
        self.options = options
        self.router = router
        self.memory = memory
        self.mesh = mesh
        self.learning = learning
        self.progress = progress
        self.ask = ask or _ask_stdin
        self.clock = clock
        self.rand = rand
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.state_dir = options.resolved_state_dir(plan.directory)
        self.log_dir = self.state_dir / "logs"
        self.max_parallel = (
            1 if options.mode in (Mode.SEQUENTIAL, Mode.INTERACTIVE) else max(1, options.max_parallel)
        )
        self.breaker = PhaseFailureBreaker(f"hypervisor:{plan.name}", options.breaker_threshold)
        self.monitor = SessionMonitor(options.session_breaker_limit)
        self._queue: queue.Queue[_AttemptDone | _AttemptCrashed | _Spawned] = queue.Queue()
        self._runs: dict[str, _PhaseRun] = {}
        self._active: dict[str, threading.Thread] = {}
        self._history: list[LearningEvent] = []
        self._stop_reason: str | None = None
        self._stopping = False
        self._signals_received = 0
        self._signals_handled = 0
        self._run_started_at = ""
        self._status: RunStatus | None = None
        self._fallback_done = False
        self._in_prompt = False
        self._signal_reason = "interrupted"
        self._last_mesh_poll = -float("inf")
        self.schedule: Schedule | None = None
        self.notes: list[str] = []
        self._selected: list[str] = []
        self._skipped_on_resume: list[str] = []

    # -- preparation ---------------------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Select the phases of this run (raises ``ValueError`` naming unknown ids)."""
        self._selected = select_phases(self.plan, self.options.only, self.options.from_phase)
        return self._selected

    def _read_state(self) -> Schedule:
        """Read the checkpoints (the run holds the plan's lock) and build the schedule."""
        selected = self._selected
        satisfied: set[str] = set()
        skipped_on_resume: list[str] = []
        reads: dict[str, CheckpointRead] = {}
        for phase_id in self.plan.graph.order:
            phase = self.plan.phases[phase_id]
            read = self.memory.load(phase)
            reads[phase_id] = read
            cp = read.checkpoint
            if read.problem:
                self._note(f"warning: {read.problem}")
            if cp is not None and cp.status in (PhaseStatus.RUNNING, PhaseStatus.RETRYING):
                # We hold the lock, so the run that wrote this is gone: it crashed or was killed.
                self._note(
                    f"phase {phase_id} was still {cp.status} when run {cp.run_id or '?'} stopped: "
                    "treating it as crashed"
                )
        for phase_id in selected:
            cp = reads[phase_id].checkpoint
            if not self.options.resume or cp is None or cp.status is not PhaseStatus.PASSED:
                continue
            if cp.phase_digest and cp.phase_digest != self.plan.phases[phase_id].digest:
                self._note(f"phase {phase_id} passed before, but its file changed since: running it again")
                continue
            satisfied.add(phase_id)
            skipped_on_resume.append(phase_id)
        # Dependencies outside the selection: fine when they passed before, else say so.
        selected_set = set(selected)
        for phase_id in selected:
            for dep in self.plan.graph.dependencies(phase_id):
                if dep in selected_set or dep in satisfied:
                    continue
                cp = reads[dep].checkpoint
                satisfied.add(dep)
                if cp is None or cp.status is not PhaseStatus.PASSED:
                    self._note(
                        f"note: phase {phase_id} depends on phase {dep}, which is not selected and has "
                        "not passed; running it anyway"
                    )
        for phase_id in selected:
            read = reads[phase_id]
            if read.problem and read.exists and phase_id not in satisfied:
                with contextlib.suppress(OSError):
                    moved = quarantine(read.path)
                    self._note(f"moved unreadable checkpoint of phase {phase_id} to {moved}")
        self._skipped_on_resume = skipped_on_resume
        self.schedule = Schedule(
            self.plan.graph, [p for p in selected if p not in skipped_on_resume], satisfied
        )
        return self.schedule

    def _note(self, text: str) -> None:
        self.notes.append(text)
        self.progress.event(text)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Run the plan to the end (or until stopped); returns the report."""
        from lib.locking import FileLock, LockTimeout

        if not self._selected:
            self.prepare()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.state_dir / "hypervisor.lock"), timeout=0)
        try:
            lock.acquire()
        except LockTimeout:
            raise RunUnavailable(
                f"{self.state_dir}: another hypervisor is running this plan (its lock "
                f"{self.state_dir / 'hypervisor.lock'} is held); wait for it or stop it"
            ) from None
        started = self.clock()
        try:
            schedule = self._read_state()
            self._history = self.learning.events(self.plan.name)
            self._publish(
                "run.started",
                {
                    "mode": str(self.options.mode),
                    "phases": list(self._selected),
                    "resume": self.options.resume,
                    "max_parallel": self.max_parallel,
                },
            )
            self._write_run_record(started, final=False)
            self.progress.event(
                f"run {self.run_id}: plan {self.plan.name!r}, {len(self._selected)} phase(s), "
                f"mode {self.options.mode}"
                + (f" (up to {self.max_parallel} at once)" if self.max_parallel > 1 else "")
            )
            for phase_id in self._skipped_on_resume:
                self._publish("phase.skipped", {"phase": phase_id, "reason": "passed in checkpoint"})
                self.progress.event(f"phase {phase_id} skipped: passed in an earlier run (--resume)")
            with self._signals():
                try:
                    self._loop(schedule)
                except BaseException:
                    self._abort()
                    raise
            status = self._final_status(schedule)
            report = self._report(status, self.clock() - started)
            self._publish(
                "run.finished",
                {
                    "status": str(status),
                    "reason": self._stop_reason,
                    "passed": schedule.count(SlotState.PASSED) + len(self._skipped_on_resume),
                    "failed": schedule.count(SlotState.FAILED),
                    "skipped": schedule.count(SlotState.SKIPPED) + schedule.count(SlotState.BLOCKED),
                    "duration_s": round(report.duration_s, 3),
                },
            )
            self._write_run_record(started, final=True, status=status)
            return report
        finally:
            self.progress.close()
            self.learning.close()
            lock.release()

    def _loop(self, schedule: Schedule) -> None:
        while True:
            self._drain(timeout=0)
            self._handle_signals(schedule)
            if self._stop_reason is not None and not self._stopping:
                self._begin_stop(schedule, interrupt=self._status in (RunStatus.INTERRUPTED, RunStatus.QUIT))
            if not self._stopping:
                self._start_due_retries(schedule)
                self._start_ready(schedule)
            pending_retries = any(r.retry_at is not None for r in self._runs.values())
            if not self._active and not pending_retries and (self._stopping or not schedule.ready()):
                break
            self._poll_mesh()
            self._refresh(schedule)
            self._drain(timeout=self._wait_time())
        self._drain(timeout=0)

    def _abort(self) -> None:
        """The run itself failed (a bug, or a signal outside the loop): stop every child process
        before the exception propagates, so nothing keeps running unobserved."""
        for run in self._runs.values():
            if run.control is not None:
                run.control.cancel("interrupted")
        for thread in list(self._active.values()):
            thread.join(timeout=self.options.kill_grace + 2)

    def _wait_time(self) -> float:
        wait = self.options.tick
        now = self.clock()
        for run in self._runs.values():
            if run.retry_at is not None:
                wait = min(wait, max(0.0, run.retry_at - now))
        return wait

    # -- starting attempts -----------------------------------------------------------------------

    def _slots(self) -> int:
        """Free places: a phase waiting to retry keeps its place (sequential stays sequential)."""
        waiting = sum(1 for run in self._runs.values() if run.retry_at is not None)
        return self.max_parallel - len(self._active) - waiting

    def _start_ready(self, schedule: Schedule) -> None:
        for phase_id in schedule.ready():
            if self._slots() <= 0 or self._stopping:
                return
            if self.options.mode is Mode.INTERACTIVE:
                choice = self._ask_phase(phase_id)
                if choice == "skip":
                    schedule.skip(phase_id, satisfies=True)
                    self._publish("phase.skipped", {"phase": phase_id, "reason": "skipped by user"})
                    self.progress.event(f"phase {phase_id} skipped by you")
                    continue
                if choice == "quit":
                    self._status = RunStatus.QUIT
                    self._stop_reason = "quit by user"
                    self._begin_stop(schedule, interrupt=True)
                    return
            schedule.start(phase_id)
            self._launch(phase_id)

    def _start_due_retries(self, schedule: Schedule) -> None:
        now = self.clock()
        for phase_id, run in sorted(self._runs.items(), key=lambda kv: kv[1].retry_at or 0):
            # Its place was kept while it waited; only a fallback to sequential can have shrunk it.
            if run.retry_at is not None and run.retry_at <= now and len(self._active) < self.max_parallel:
                run.retry_at = None
                self._launch(phase_id)

    def _launch(self, phase_id: str) -> None:
        phase = self.plan.phases[phase_id]
        run = self._runs.setdefault(phase_id, _PhaseRun(phase=phase))
        engine = self.router.route(phase)
        run.executor = engine.name
        run.attempts += 1
        now = self.clock()
        run.attempt_started = now
        run.attempt_started_at = utc_now()
        if run.first_started is None:
            run.first_started = now
            run.started_at = run.attempt_started_at
        run.session_id = str(uuid.uuid4()) if engine.name == "claude" else None
        run.pid = None
        run.overlapped = bool(self._active)
        for other in self._active:
            self._runs[other].overlapped = True
        lessons = lessons_for(
            [e for e in self._history if not (e.run_id == self.run_id and e.attempt == run.attempts - 1)],
            phase_id,
        )
        validation_cmd = describe_validation(
            phase.meta.validation_script, self.plan.directory, self.options.project_dir
        )
        ctx = AttemptContext(
            plan_name=self.plan.name,
            phase=phase,
            attempt=run.attempts,
            run_id=self.run_id,
            plan_dir=self.plan.directory,
            project_dir=self.options.project_dir,
            log_dir=self.log_dir,
            env=self._env(phase, run),
            timeout=self._timeout(phase, engine.name),
            validation_command=validation_cmd,
            previous_error=run.last_error if run.attempts > 1 else None,
            previous_validation_output=(
                run.last_validation.tail if run.attempts > 1 and run.last_validation is not None else None
            ),
            lessons=lessons,
            session_id=run.session_id,
            kill_grace=self.options.kill_grace,
        )
        attempt = run.attempts

        def spawned(pid: int) -> None:
            self._queue.put(_Spawned(phase_id, attempt, pid))

        control = AttemptControl(on_spawn=spawned)
        run.control = control
        if run.session_id:
            self.monitor.watch(phase_id, run.session_id)
        self._save(run, PhaseStatus.RUNNING)
        self._publish(
            "phase.started",
            {
                "phase": phase_id,
                "title": phase.title,
                "attempt": run.attempts,
                "executor": engine.name,
                "session_id": run.session_id,
            },
        )
        self.progress.event(
            f"phase {phase_id} ({phase.title}) started"
            + (f", attempt {run.attempts}" if run.attempts > 1 else "")
            + f" [{engine.name}]"
        )
        thread = threading.Thread(
            target=self._attempt,
            args=(ctx, engine, control),
            name=f"phase-{phase_id}-attempt-{run.attempts}",
            daemon=True,
        )
        self._active[phase_id] = thread
        thread.start()

    def _timeout(self, phase: Phase, executor: str) -> float | None:
        if phase.meta.timeout is not None:
            return phase.meta.timeout
        if self.options.phase_timeout is not None:
            return self.options.phase_timeout
        return self.options.claude_timeout if executor == "claude" else None

    def _env(self, phase: Phase, run: _PhaseRun) -> dict[str, str]:
        env = dict(os.environ)
        env.update(phase.meta.env)
        env.update(
            {
                "HYPERVISOR_RUN_ID": self.run_id,
                "HYPERVISOR_PLAN": self.plan.name,
                "HYPERVISOR_PLAN_DIR": str(self.plan.directory),
                "HYPERVISOR_STATE_DIR": str(self.state_dir),
                "HYPERVISOR_PHASE": phase.id,
                "HYPERVISOR_ATTEMPT": str(run.attempts),
            }
        )
        if run.attempts > 1 and run.last_error:
            env["HYPERVISOR_PREVIOUS_ERROR"] = run.last_error
        else:
            env.pop("HYPERVISOR_PREVIOUS_ERROR", None)
        return env

    def _attempt(self, ctx: AttemptContext, engine: Any, control: AttemptControl) -> None:
        """Worker thread: run the executor, then the validation script; report to the queue."""
        phase = ctx.phase
        try:
            result: ExecutorResult = engine.run(ctx, control)
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
                    output_path=ctx.log_dir / f"phase_{phase.id}.attempt-{ctx.attempt}.validation.log",
                    timeout=phase.meta.validation_timeout or self.options.validation_timeout,
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
            self._queue.put(_AttemptDone(phase.id, ctx.attempt, result, validation, validation_error, passed))
        except Exception:  # a bug here must not hang the run: report it as this phase's failure
            self._queue.put(_AttemptCrashed(phase.id, ctx.attempt, traceback.format_exc(limit=5)))

    # -- handling results ------------------------------------------------------------------------

    def _drain(self, timeout: float) -> None:
        deadline = self.clock() + timeout
        while True:
            remaining = deadline - self.clock()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return
            assert self.schedule is not None
            if isinstance(item, _Spawned):
                run = self._runs[item.phase_id]
                if run.attempts == item.attempt and run.pid is None:
                    run.pid = item.pid
                    self._save(run, PhaseStatus.RUNNING)
            elif isinstance(item, _AttemptCrashed):
                result = ExecutorResult(
                    "error",
                    None,
                    0.0,
                    error=f"hypervisor error: {item.error.strip()}",
                    error_class="hypervisor_error",
                )
                self._finish_attempt(
                    self.schedule, _AttemptDone(item.phase_id, item.attempt, result, None, None, False)
                )
            else:
                self._finish_attempt(self.schedule, item)
            timeout = 0.0
            deadline = self.clock()

    def _finish_attempt(self, schedule: Schedule, done: _AttemptDone) -> None:
        phase_id = done.phase_id
        run = self._runs[phase_id]
        thread = self._active.pop(phase_id, None)
        if thread is not None:
            thread.join(timeout=1.0)
        control = run.control
        run.control = None
        if run.session_id:
            self._poll_mesh(force=True)  # the session's last hook events, published before it ended
        activity = self.monitor.forget(phase_id)
        run.ended = self.clock()
        duration = run.ended - (run.attempt_started or run.ended)
        result = done.result
        run.last_result = result
        run.last_validation = done.validation
        stopped_by_breakers = control is not None and control.reason == "session_breakers"
        if stopped_by_breakers:
            result.outcome = "failed"
            result.error_class = "session_breakers"
            trips = activity.get("breaker_trips", 0)
            result.error = f"stopped early: {trips} circuit breaker trip(s) in the Claude session (its tools kept failing)"
        if done.passed:
            outcome = "passed"
        elif result.outcome == "interrupted":
            outcome = "interrupted"
        elif result.outcome == "transient":
            outcome = "transient"
        else:
            outcome = "failed"
        error = None if done.passed else (done.validation_error or result.error or "failed")
        error_class = None
        if not done.passed:
            error_class = "validation" if done.validation_error else (result.error_class or result.outcome)
            if result.ok and done.validation_error:
                error = done.validation_error
        run.last_error, run.last_error_class = error, error_class
        self._record_learning(run, done, outcome, duration, error, error_class)

        if outcome == "passed":
            self.breaker.record_success()
            schedule.pass_(phase_id)
            run.final_status = "passed"
            self._save(run, PhaseStatus.PASSED, duration=duration, activity=activity)
            self._publish("phase.passed", self._payload(run, duration))
            note = " (executor reported failure, validation passed)" if not result.ok else ""
            self.progress.event(
                f"phase {phase_id} passed in {format_duration(duration)}"
                + (f" after {run.attempts} attempts" if run.attempts > 1 else "")
                + note
            )
            return
        if outcome == "interrupted":
            run.final_status = "interrupted"
            self._save(run, PhaseStatus.INTERRUPTED, duration=duration, activity=activity)
            self._publish("phase.failed", {**self._payload(run, duration), "status": "interrupted"})
            self.progress.event(f"phase {phase_id} interrupted after {format_duration(duration)}")
            return
        if outcome == "transient":
            run.transient += 1
            if run.transient <= self.options.retry.max_transient_retries and not self._stopping:
                delay = self.options.retry.delay(run.transient, self.rand)
                self._schedule_retry(run, delay, duration, activity, transient=True)
                return
            run.failures += 1
        else:
            run.failures += 1
            opened = self.breaker.record_failure(error or "failed")
            if opened:
                self._stop_reason = (
                    f"circuit breaker open: {self.breaker.consecutive} consecutive phase failures "
                    f"(threshold {self.options.breaker_threshold})"
                )
                self._status = RunStatus.BREAKER_OPEN
        self._maybe_fall_back(run)
        policy = self._policy(run.phase)
        # A command that cannot even start (missing binary, no command) fails the same way every time.
        retryable = result.error_class not in ("start_error", "config_error")
        if (
            retryable
            and policy.should_retry(run.failures)
            and not self._stopping
            and self._stop_reason is None
        ):
            delay = policy.delay(run.failures, self.rand)
            self._schedule_retry(run, delay, duration, activity, transient=False)
            return
        run.final_status = "failed"
        self._save(run, PhaseStatus.FAILED, duration=duration, activity=activity)
        self._publish("phase.failed", self._payload(run, duration))
        self.progress.event(f"phase {phase_id} FAILED after {run.attempts} attempt(s): {error}")
        for blocked in schedule.fail(phase_id):
            self._publish("phase.skipped", {"phase": blocked, "reason": f"dependency {phase_id} failed"})
            self.progress.event(f"phase {blocked} skipped: it depends on failed phase {phase_id}")
        if not self.options.keep_going and self._stop_reason is None:
            self._stop_reason = f"phase {phase_id} failed (fail-fast; use --keep-going to run the rest)"

    def _policy(self, phase: Phase) -> RetryPolicy:
        """The run's retry policy, with the phase's own ``max_attempts`` when it sets one."""
        if phase.meta.max_attempts is None:
            return self.options.retry
        from dataclasses import replace

        return replace(self.options.retry, max_attempts=phase.meta.max_attempts)

    def _schedule_retry(
        self, run: _PhaseRun, delay: float, duration: float, activity: Mapping[str, int], *, transient: bool
    ) -> None:
        run.retry_at = self.clock() + delay
        self._save(run, PhaseStatus.RETRYING, duration=duration, activity=activity)
        payload = {**self._payload(run, duration), "retry_in_s": round(delay, 3), "transient": transient}
        self._publish("phase.retrying", payload)
        why = "API overloaded or rate limited" if transient else (run.last_error or "failed")
        self.progress.event(
            f"phase {run.phase.id} attempt {run.attempts} failed ({why}); retrying in {format_duration(delay)}"
        )

    def _maybe_fall_back(self, run: _PhaseRun) -> None:
        """The recovery plan for parallel runs: after a failure during concurrent execution, run
        the remaining phases one at a time."""
        if (
            self.options.mode is Mode.PARALLEL
            and self.options.sequential_fallback
            and not self._fallback_done
            and self.max_parallel > 1
            and run.overlapped
        ):
            self._fallback_done = True
            self.max_parallel = 1
            recovery = run.phase.meta.recovery_plan
            self._publish(
                "run.fallback",
                {"phase": run.phase.id, "to": "sequential", "recovery_plan": recovery},
            )
            self.progress.event(
                f"parallel execution failed (phase {run.phase.id}); running the remaining phases sequentially"
                + (f" (recovery plan: {recovery})" if recovery else "")
            )

    def _payload(self, run: _PhaseRun, duration: float) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "phase": run.phase.id,
            "title": run.phase.title,
            "attempt": run.attempts,
            "duration_s": round(duration, 3),
            "executor": run.executor,
        }
        if run.last_error:
            payload["error"] = run.last_error[:500]
            payload["error_class"] = run.last_error_class
        if run.session_id:
            payload["session_id"] = run.session_id
        if run.last_result is not None and run.last_result.cost_usd is not None:
            payload["cost_usd"] = run.last_result.cost_usd
        return payload

    def _record_learning(
        self,
        run: _PhaseRun,
        done: _AttemptDone,
        outcome: str,
        duration: float,
        error: str | None,
        error_class: str | None,
    ) -> None:
        lesson = None
        if done.validation is not None and not done.passed:
            lesson = lesson_from_output(done.validation.tail)
        elif not done.passed and done.result.output_tail:
            lesson = lesson_from_output(done.result.output_tail)
        event = LearningEvent(
            ts=utc_now(),
            plan=self.plan.name,
            phase=run.phase.id,
            run_id=self.run_id,
            attempt=done.attempt,
            outcome=outcome,  # type: ignore[arg-type]
            duration_s=round(duration, 3),
            executor=run.executor,
            error_class=error_class,
            error=(error or None) and error[:500],
            cost_usd=done.result.cost_usd,
            session_id=done.result.session_id or run.session_id,
            validation_digest=done.validation.digest if done.validation else None,
            lesson=lesson,
        )
        self._history.append(event)
        try:
            self.learning.append(event)
        except OSError as exc:
            self.progress.event(f"warning: cannot append to the learning log {self.learning.path}: {exc}")

    # -- stopping ------------------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """Interrupt the run (what Ctrl-C does): running phases are stopped and recorded."""
        if self._status is not RunStatus.QUIT:
            self._status = RunStatus.INTERRUPTED
        self._stop_reason = reason

    def _handle_signals(self, schedule: Schedule) -> None:
        received = self._signals_received
        if received == self._signals_handled:
            return
        first = self._signals_handled == 0
        self._signals_handled = received
        if first:
            self.request_stop(self._signal_reason)
            self._begin_stop(schedule, interrupt=True)
            return
        # A second signal: stop the children now instead of waiting out the grace period.
        for run in self._runs.values():
            if run.control is not None and run.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(run.pid, signal.SIGKILL)

    def _begin_stop(self, schedule: Schedule, *, interrupt: bool) -> None:
        self._stopping = True
        if interrupt:
            for run in self._runs.values():
                if run.control is not None:
                    run.control.cancel("interrupted")
        for run in self._runs.values():
            if run.retry_at is not None:
                run.retry_at = None
                status = PhaseStatus.INTERRUPTED if interrupt else PhaseStatus.FAILED
                run.final_status = str(status)
                self._save(run, status)
                if status is PhaseStatus.FAILED:
                    schedule.fail(run.phase.id)
                self._publish("phase.failed", {**self._payload(run, 0.0), "status": str(status)})
                self.progress.event(f"phase {run.phase.id} {status} while waiting to retry")
        for phase_id in schedule.abandon_waiting():
            self._publish("phase.skipped", {"phase": phase_id, "reason": self._stop_reason or "run stopped"})
        if self._stop_reason:
            self.progress.event(f"stopping: {self._stop_reason}")

    @contextlib.contextmanager
    def _signals(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[signal.Signals, Any] = {}

        def handler(signum: int, frame: object) -> None:
            if self._in_prompt:
                raise KeyboardInterrupt
            self._signal_reason = f"interrupted ({signal.Signals(signum).name})"
            self._signals_received += 1

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _ask_phase(self, phase_id: str) -> str:
        phase = self.plan.phases[phase_id]
        engine = self.router.route(phase)
        deps = ", ".join(phase.meta.depends_on) or "none"
        summary = [
            f"phase {phase_id}: {phase.title}",
            f"  effort {phase.meta.effort or '-'} · depends on {deps} · executor {engine.name}"
            + (f" · validation {phase.meta.validation_script}" if phase.meta.validation_script else ""),
        ]
        first = next(
            (line.strip() for line in phase.body.splitlines() if line.strip() and not line.startswith("#")),
            "",
        )
        if first:
            summary.append(f"  {first[:160]}")
        self.progress.close()  # no live line between the question and the answer
        self.progress.event("\n".join(summary))
        self._in_prompt = True
        try:
            while True:
                try:
                    answer = self.ask("run, skip or quit? [r/s/q] ").strip().lower()
                except (EOFError, KeyboardInterrupt):
                    return "quit"
                if answer in ("r", "run", "y", "yes", ""):
                    return "run"
                if answer in ("s", "skip", "n", "no"):
                    return "skip"
                if answer in ("q", "quit", "exit"):
                    return "quit"
                self.progress.event(f"please answer r, s or q (got {answer!r})")
        finally:
            self._in_prompt = False

    # -- state, events, progress -----------------------------------------------------------------

    def _save(
        self,
        run: _PhaseRun,
        status: PhaseStatus,
        *,
        duration: float | None = None,
        activity: Mapping[str, int] | None = None,
    ) -> None:
        result = run.last_result if status is not PhaseStatus.RUNNING else None
        total = None
        if run.first_started is not None and status is not PhaseStatus.RUNNING:
            total = round(self.clock() - run.first_started, 3)
        checkpoint = Checkpoint(
            plan=self.plan.name,
            phase=run.phase.id,
            title=run.phase.title,
            status=status,
            attempts=run.attempts,
            failures=run.failures,
            run_id=self.run_id,
            started_at=run.started_at,
            ended_at=None if status is PhaseStatus.RUNNING else utc_now(),
            duration_s=total,
            executor=run.executor or None,
            executor_result=_result_summary(result, duration),
            validation=run.last_validation if status is not PhaseStatus.RUNNING else None,
            session_id=run.session_id or (result.session_id if result else None),
            phase_digest=run.phase.digest,
            error=None if status in (PhaseStatus.RUNNING, PhaseStatus.PASSED) else run.last_error,
            error_class=None if status in (PhaseStatus.RUNNING, PhaseStatus.PASSED) else run.last_error_class,
            pid=run.pid if status is PhaseStatus.RUNNING else None,
            hook_activity=dict(activity or {}),
        )
        try:
            self.memory.save(run.phase, checkpoint)
        except OSError as exc:
            self.progress.event(f"warning: cannot write the checkpoint of phase {run.phase.id}: {exc}")

    def _publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        try:
            self.mesh.publish(topic, {"run_id": self.run_id, "plan": self.plan.name, **payload})
        except Exception as exc:  # the bus must never break the run
            self.progress.event(f"warning: could not publish {topic}: {exc}")

    def _poll_mesh(self, *, force: bool = False) -> None:
        now = self.clock()
        if not self.monitor.watching():
            return
        if not force and now - self._last_mesh_poll < self.options.mesh_poll_interval:
            return
        self._last_mesh_poll = now
        try:
            events = self.mesh.poll()
        except Exception as exc:
            self.progress.event(f"warning: could not read the event bus: {exc}")
            return
        for phase_id in self.monitor.feed(events):
            run = self._runs.get(phase_id)
            if run is not None and run.control is not None and not run.control.cancelled:
                run.control.cancel("session_breakers")
                self.progress.event(
                    f"phase {phase_id}: its Claude session keeps tripping circuit breakers; stopping it"
                )

    def _refresh(self, schedule: Schedule) -> None:
        now = self.clock()
        running = []
        for phase_id in self._active:
            run = self._runs[phase_id]
            activity = self.monitor.activity(phase_id)
            running.append(
                RunningPhase(
                    phase=phase_id,
                    attempt=run.attempts,
                    elapsed_s=now - (run.attempt_started or now),
                    tool_calls=activity.get("tool_calls", 0),
                    tool_failures=activity.get("tool_failures", 0),
                    breakers_open=activity.get("breakers_open", 0),
                )
            )
        self.progress.update(
            ProgressSnapshot(
                total=len(self._selected),
                passed=schedule.count(SlotState.PASSED) + len(self._skipped_on_resume),
                failed=schedule.count(SlotState.FAILED),
                skipped=schedule.count(SlotState.SKIPPED) + schedule.count(SlotState.BLOCKED),
                running=running,
                waiting_retry=sum(1 for r in self._runs.values() if r.retry_at is not None),
                eta_s=self._eta(schedule),
            )
        )

    def _eta(self, schedule: Schedule) -> float | None:
        from lib.hypervisor.bridge import estimate_remaining, phase_history

        remaining = [*schedule.waiting(), *schedule.running()]
        if not remaining:
            return None
        histories = {p: phase_history(self._history, p) for p in remaining}
        waves = self.plan.graph.waves if self.max_parallel > 1 else None
        estimate = estimate_remaining(remaining, histories, waves)
        return estimate.seconds if estimate.known else None

    def _final_status(self, schedule: Schedule) -> RunStatus:
        if self._status is not None:
            return self._status
        failed = schedule.count(SlotState.FAILED) + schedule.count(SlotState.BLOCKED)
        not_run = schedule.count(SlotState.WAITING)
        return RunStatus.FAILED if failed or not_run else RunStatus.PASSED

    def _report(self, status: RunStatus, duration: float) -> RunReport:
        assert self.schedule is not None
        phases: dict[str, PhaseReport] = {}
        for phase_id in self._selected:
            if phase_id in self._skipped_on_resume:
                phases[phase_id] = PhaseReport(phase_id, "passed (checkpoint)")
                continue
            run = self._runs.get(phase_id)
            slot = self.schedule.state.get(phase_id)
            if run is None:
                reason = "skipped"
                if slot is SlotState.BLOCKED:
                    reason = f"skipped (dependency {self.schedule.blocked_by.get(phase_id)} failed)"
                elif slot is SlotState.WAITING:
                    reason = "not run"
                phases[phase_id] = PhaseReport(phase_id, reason)
                continue
            total = None
            if run.first_started is not None and run.ended is not None:
                total = run.ended - run.first_started
            phases[phase_id] = PhaseReport(
                phase_id,
                run.final_status or str(slot),
                attempts=run.attempts,
                duration_s=total,
                error=run.last_error if run.final_status != "passed" else None,
            )
        return RunReport(self.run_id, status, phases, self._stop_reason, duration)

    def _write_run_record(self, started: float, *, final: bool, status: RunStatus | None = None) -> None:
        import toon_format

        record: dict[str, Any] = {
            "run_id": self.run_id,
            "plan": self.plan.name,
            "mode": str(self.options.mode),
            "pid": os.getpid(),
            "status": str(status) if status is not None else "running",
            "started_at": self._run_started_at if final else utc_now(),
            "phases": list(self._selected),
        }
        if not final:
            self._run_started_at = record["started_at"]
        else:
            record["ended_at"] = utc_now()
            record["duration_s"] = round(self.clock() - started, 3)
            if self._stop_reason:
                record["reason"] = self._stop_reason
        try:
            write_atomic(self.state_dir / "run.toon", (toon_format.dumps(record) + "\n").encode())
        except OSError as exc:
            self.progress.event(f"warning: cannot write the run record: {exc}")


class RunUnavailable(Exception):
    """The run cannot start (the plan is locked by another hypervisor)."""


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


def _ask_stdin(prompt: str) -> str:
    return input(prompt)
