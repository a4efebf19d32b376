"""The run: phases in dependency order through their executors, validated, checkpointed.

One process, one writer: the main thread owns every piece of run state (checkpoints, the
learning log, the run record, events). Each attempt of a phase runs in a worker thread
(:mod:`lib.hypervisor.attempt`) and reports back through a queue; the main thread decides what
happens next (pass, retry after backoff, fail, stop) and writes it down.

Around the loop: :mod:`~lib.hypervisor.resume` decides what earlier runs left done,
:mod:`~lib.hypervisor.orphans` settles attempts a crashed runner left running,
:mod:`~lib.hypervisor.worktrees` isolates parallel Claude phases, :mod:`~lib.hypervisor.accounting`
sums cost and tokens against the run's budget, :mod:`~lib.hypervisor.recovery` decides the
fallback to sequential, and :mod:`~lib.hypervisor.run_record` keeps the record of every run.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from lib.hypervisor import accounting
from lib.hypervisor.attempt import AttemptCrashed, AttemptDone, Message, Spawned, attempt_env, run_attempt
from lib.hypervisor.bridge import LearningEvent, LearningLog, lessons_for
from lib.hypervisor.checkpoints import (
    Checkpoint,
    CheckpointRead,
    PhaseStatus,
    quarantine,
    utc_now,
)
from lib.hypervisor.crash_recovery import recover
from lib.hypervisor.executors import AttemptContext, ExecutorResult
from lib.hypervisor.interactive import ask_phase, ask_stdin, phase_summary
from lib.hypervisor.interfaces import EventMesh, MemoryManager, SkillRouter
from lib.hypervisor.monitor import SessionMonitor
from lib.hypervisor.options import Mode, OrphanPolicy, RunOptions, RunStatus, RunUnavailable, select_phases
from lib.hypervisor.orphans import process_start
from lib.hypervisor.phase_breaker import PhaseFailureBreaker
from lib.hypervisor.phase_run import PhaseRun
from lib.hypervisor.plan import Phase, Plan
from lib.hypervisor.process import AttemptControl
from lib.hypervisor.progress import Progress, ProgressSnapshot, RunningPhase, format_duration
from lib.hypervisor.recovery import fallback_evidence
from lib.hypervisor.report import PhaseReport, RunReport
from lib.hypervisor.resume import input_digest, pass_stamp, plan_resume
from lib.hypervisor.retry import RetryPolicy
from lib.hypervisor.run_record import write_run_record
from lib.hypervisor.schedule import Schedule, SlotState
from lib.hypervisor.validation import describe_validation, missing_scripts
from lib.hypervisor.worktrees import PhaseCheckouts

__all__ = ["Runner"]


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
        self.ask = ask or ask_stdin
        self.clock = clock
        self.rand = rand
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.state_dir = options.resolved_state_dir(plan.directory)
        self.log_dir = self.state_dir / "logs" / self.run_id
        self.max_parallel = (
            1 if options.mode in (Mode.SEQUENTIAL, Mode.INTERACTIVE) else max(1, options.max_parallel)
        )
        self.breaker = PhaseFailureBreaker(f"hypervisor:{plan.name}", options.breaker_threshold)
        self.monitor = SessionMonitor(options.session_breaker_limit)
        self._queue: queue.Queue[Message] = queue.Queue()
        self._runs: dict[str, PhaseRun] = {}
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
        self._reads: dict[str, CheckpointRead] = {}
        self._digests: dict[str, str] = {}
        self._stamps: dict[str, str] = {}
        self._spend: dict[str, Any] = {}
        self._dearest_attempt = 0.0
        self._checkouts = PhaseCheckouts(options.project_dir, None, self._note)
        self._record_path: Path | None = None

    # -- preparation ---------------------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Select the phases of this run and check them before anything runs.

        Raises ``ValueError`` naming unknown ids or validation scripts that do not exist.
        """
        self._selected = select_phases(self.plan, self.options.only, self.options.from_phase)
        missing = missing_scripts(
            [self.plan.phases[p] for p in self._selected], self.plan.directory, self.options.project_dir
        )
        if missing:
            raise ValueError(
                "validation scripts not found:\n  "
                + "\n  ".join(f"{m}; create it, fix the path, or remove the field" for m in missing)
            )
        return self._selected

    def _read_state(self) -> Schedule:
        """Read the checkpoints (the run holds the plan's lock), settle what a crashed run left,
        and build the schedule."""
        for phase_id in self.plan.graph.order:
            phase = self.plan.phases[phase_id]
            self._reads[phase_id] = self.memory.load(phase)
            self._digests[phase_id] = input_digest(phase, self.plan.directory, self.options.project_dir)
        decision = plan_resume(
            self.plan,
            self._selected,
            self._reads,
            self._digests,
            resume=self.options.resume,
            assume_done=[d for deps in self.plan.external.values() for d in deps],
        )
        for note in decision.notes:
            self._note(note)
        recover(
            plan=self.plan,
            state_dir=self.state_dir,
            decision=decision,
            reads=self._reads,
            memory=self.memory,
            learning=self.learning,
            run_id=self.run_id,
            wait=self.options.orphans is OrphanPolicy.WAIT,
            grace=self.options.kill_grace,
            say=self._note,
        )
        for phase_id, read in self._reads.items():
            stamp = pass_stamp(read.checkpoint)
            if stamp is not None:
                self._stamps[phase_id] = stamp
        for phase_id in decision.quarantine:
            with contextlib.suppress(OSError):
                moved = quarantine(self._reads[phase_id].path)
                self._note(f"moved unreadable checkpoint of phase {phase_id} to {moved}")
        self._skipped_on_resume = decision.skipped
        self.schedule = Schedule(
            self.plan.graph, [p for p in self._selected if p not in decision.skipped], decision.satisfied
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
            self._checkouts = PhaseCheckouts.open(
                self.options.project_dir,
                self.state_dir / "worktrees" / self.run_id,
                self.run_id,
                wanted=self.max_parallel > 1
                and self.options.worktrees
                and any(self.router.route(self.plan.phases[p]).name == "claude" for p in self._selected),
                say=self._note,
            )
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
                + (f", budget ${self.options.budget_usd:g}" if self.options.budget_usd is not None else "")
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
                    **({"spend": self._spend} if self._spend else {}),
                },
            )
            self._write_run_record(started, final=True, status=status, report=report)
            report.summary_path = str(self._record_path) if self._record_path else None
            return report
        finally:
            self._checkouts.close()
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

    def _budget_allows(self, schedule: Schedule) -> bool:
        """Whether the next attempt fits the run's budget; if not, stop the run and say why."""
        verdict = accounting.budget_verdict(self.options.budget_usd, self._spent(), self._dearest_attempt)
        if verdict is None:
            return True
        if self._stop_reason is None:
            self._stop_reason = f"{verdict}; no new attempt started (raise --max-budget-usd to go on)"
            self._status = RunStatus.BUDGET_EXHAUSTED
            self._begin_stop(schedule, interrupt=False)
        return False

    def _start_ready(self, schedule: Schedule) -> None:
        for phase_id in schedule.ready():
            if self._slots() <= 0 or self._stopping:
                return
            if self.options.mode is Mode.INTERACTIVE:
                phase = self.plan.phases[phase_id]
                self.progress.close()  # no live line between the question and the answer
                self.progress.event(phase_summary(phase, self.router.route(phase).name))
                self._in_prompt = True
                try:
                    choice = ask_phase(self.ask, self.progress.event)
                finally:
                    self._in_prompt = False
                if choice == "skip":
                    schedule.skip(phase_id, satisfies=True)
                    self._save_skipped(phase)
                    self._publish("phase.skipped", {"phase": phase_id, "reason": "skipped by user"})
                    self.progress.event(f"phase {phase_id} skipped by you (saved: it counts as done)")
                    continue
                if choice == "quit":
                    self._status = RunStatus.QUIT
                    self._stop_reason = "quit by user"
                    self._begin_stop(schedule, interrupt=True)
                    return
            if not self._budget_allows(schedule):
                return
            schedule.start(phase_id)
            self._launch(phase_id)

    def _start_due_retries(self, schedule: Schedule) -> None:
        now = self.clock()
        for phase_id, run in sorted(self._runs.items(), key=lambda kv: kv[1].retry_at or 0):
            # Its place was kept while it waited; only a fallback to sequential can have shrunk it.
            if run.retry_at is not None and run.retry_at <= now and len(self._active) < self.max_parallel:
                if not self._budget_allows(schedule):
                    return
                run.retry_at = None
                self._launch(phase_id)

    def _launch(self, phase_id: str) -> None:
        phase = self.plan.phases[phase_id]
        run = self._runs.get(phase_id)
        if run is None:
            read = self._reads.get(phase_id)
            run = self._runs[phase_id] = PhaseRun.resumed(phase, read.checkpoint if read else None)
        engine = self.router.route(phase)
        run.executor = engine.name
        run.begin_attempt(self.run_id, self.clock())
        run.session_id = str(uuid.uuid4()) if engine.name == "claude" else None
        run.overlapped = bool(self._active)
        for other in self._active:
            self._runs[other].overlapped = True
        if run.workdir is None:
            run.workdir = self._checkouts.workdir(phase_id, isolate=engine.name == "claude")
        env = attempt_env(
            phase,
            run_id=self.run_id,
            plan_name=self.plan.name,
            plan_dir=self.plan.directory,
            state_dir=self.state_dir,
            attempt=run.attempts,
            previous_error=run.last_error,
        )
        for key, value in self._checkouts.hook_env(run.workdir).items():
            env.setdefault(key, value)
        ctx = AttemptContext(
            plan_name=self.plan.name,
            phase=phase,
            attempt=run.attempts,
            run_id=self.run_id,
            plan_dir=self.plan.directory,
            project_dir=run.workdir,
            log_dir=self.log_dir,
            env=env,
            timeout=self._timeout(phase, engine.name),
            validation_command=describe_validation(
                phase.meta.validation_script, self.plan.directory, run.workdir
            ),
            previous_error=run.last_error if run.attempts > 1 else None,
            previous_validation_output=(
                run.last_validation.tail if run.attempts > 1 and run.last_validation is not None else None
            ),
            lessons=lessons_for(
                [e for e in self._history if not (e.run_id == self.run_id and e.attempt == run.attempts - 1)],
                phase_id,
            ),
            session_id=run.session_id,
            kill_grace=self.options.kill_grace,
            budget_usd=self._budget_left(),
        )
        attempt = run.attempts

        def spawned(pid: int) -> None:
            self._queue.put(Spawned(phase_id, attempt, pid))

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
                **({"workdir": str(run.workdir)} if run.workdir != self.options.project_dir else {}),
            },
        )
        self.progress.event(
            f"phase {phase_id} ({phase.title}) started"
            + (f", attempt {run.attempts}" if run.attempts > 1 else "")
            + f" [{engine.name}]"
            + (f" in worktree {run.workdir}" if run.workdir != self.options.project_dir else "")
        )
        thread = threading.Thread(
            target=run_attempt,
            args=(ctx, engine, control),
            kwargs={"validation_timeout": self.options.validation_timeout, "report": self._queue},
            name=f"phase-{phase_id}-attempt-{run.attempts}",
            daemon=True,
        )
        self._active[phase_id] = thread
        thread.start()

    def _budget_left(self) -> float | None:
        if self.options.budget_usd is None:
            return None
        return max(0.0, self.options.budget_usd - self._spent())

    def _spent(self) -> float:
        return float(self._spend.get("cost_usd", 0.0))

    def _timeout(self, phase: Phase, executor: str) -> float | None:
        if phase.meta.timeout is not None:
            return phase.meta.timeout
        if self.options.phase_timeout is not None:
            return self.options.phase_timeout
        return self.options.claude_timeout if executor == "claude" else None

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
            if isinstance(item, Spawned):
                run = self._runs[item.phase_id]
                if run.attempts == item.attempt and run.control is not None:
                    # Every child of the attempt (executor, then validation) is recorded, so a
                    # resume after a crash finds whichever is running.
                    run.spawned(item.pid, process_start(item.pid))
                    self._save(run, PhaseStatus.RUNNING)
            elif isinstance(item, AttemptCrashed):
                result = ExecutorResult(
                    "error",
                    None,
                    0.0,
                    error=f"hypervisor error: {item.error.strip()}",
                    error_class="hypervisor_error",
                )
                self._finish_attempt(
                    self.schedule, AttemptDone(item.phase_id, item.attempt, result, None, None, False)
                )
            else:
                self._finish_attempt(self.schedule, item)
            timeout = 0.0
            deadline = self.clock()

    def _finish_attempt(self, schedule: Schedule, done: AttemptDone) -> None:
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
        if control is not None and control.reason == "session_breakers":
            result.outcome = "failed"
            result.error_class = "session_breakers"
            trips = activity.get("breaker_trips", 0)
            result.error = f"stopped early: {trips} circuit breaker trip(s) in the Claude session (its tools kept failing)"
        passed = done.passed
        merge_error = None
        if passed:
            merge_error = self._checkouts.merge_back(
                phase_id, f"hypervisor: phase {phase_id} ({run.phase.title}), run {self.run_id}"
            )
        if merge_error is not None:
            passed = False
            result.error_class = "merge_conflict"
        if passed:
            outcome = "passed"
        elif result.outcome in ("interrupted", "transient"):
            outcome = result.outcome
        else:
            outcome = "failed"
        error = None if passed else (merge_error or done.validation_error or result.error or "failed")
        error_class = None
        if not passed:
            error_class = "validation" if done.validation_error else (result.error_class or result.outcome)
            if merge_error:
                error_class = "merge_conflict"
        run.last_error, run.last_error_class = error, error_class
        run.end_attempt(outcome, result)
        if result.spend:
            self._spend = accounting.add(self._spend, result.spend)
            self._dearest_attempt = max(self._dearest_attempt, float(result.spend.get("cost_usd", 0.0)))
        event = run.learning_event(done, outcome, duration, plan_name=self.plan.name, run_id=self.run_id)
        self._history.append(event)
        self._append_learning(event)

        if outcome == "passed":
            self.breaker.record_success()
            schedule.pass_(phase_id)
            run.final_status = "passed"
            self._save(run, PhaseStatus.PASSED, duration=duration, activity=activity)
            self._publish("phase.passed", run.payload(duration))
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
            self._publish("phase.failed", {**run.payload(duration), "status": "interrupted"})
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
        self._maybe_fall_back(run, result)
        policy = self._policy(run.phase)
        # A command that cannot even start (missing binary, no command) fails the same way every
        # time, and so does a merge conflict.
        retryable = result.error_class not in ("start_error", "config_error", "merge_conflict")
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
        self._publish("phase.failed", run.payload(duration))
        kept = self._checkouts.kept(phase_id)
        self.progress.event(
            f"phase {phase_id} FAILED after {run.attempts} attempt(s): {error}"
            + (f" (its worktree is kept: {kept})" if kept is not None and not merge_error else "")
        )
        for blocked in schedule.fail(phase_id):
            self._publish("phase.skipped", {"phase": blocked, "reason": f"dependency {phase_id} failed"})
            self.progress.event(f"phase {blocked} skipped: it depends on failed phase {phase_id}")
        if not self.options.keep_going and self._stop_reason is None:
            self._stop_reason = f"phase {phase_id} failed (fail-fast; use --keep-going to run the rest)"

    def _policy(self, phase: Phase) -> RetryPolicy:
        """The run's retry policy, with the phase's own ``max_attempts`` when it sets one."""
        if phase.meta.max_attempts is None:
            return self.options.retry
        return replace(self.options.retry, max_attempts=phase.meta.max_attempts)

    def _schedule_retry(
        self, run: PhaseRun, delay: float, duration: float, activity: Mapping[str, int], *, transient: bool
    ) -> None:
        run.retry_at = self.clock() + delay
        self._save(run, PhaseStatus.RETRYING, duration=duration, activity=activity)
        payload = {**run.payload(duration), "retry_in_s": round(delay, 3), "transient": transient}
        self._publish("phase.retrying", payload)
        why = "API overloaded or rate limited" if transient else (run.last_error or "failed")
        self.progress.event(
            f"phase {run.phase.id} attempt {run.attempts} failed ({why}); retrying in {format_duration(delay)}"
        )

    def _maybe_fall_back(self, run: PhaseRun, result: ExecutorResult) -> None:
        """The recovery plan for parallel runs: when phases running together hurt each other
        (a timeout while others ran, resource exhaustion), run the rest one at a time."""
        if (
            self.options.mode is not Mode.PARALLEL
            or not self.options.sequential_fallback
            or self._fallback_done
            or self.max_parallel <= 1
        ):
            return
        reason = fallback_evidence(run.phase.id, result, run.overlapped)
        if reason is None:
            return
        self._fallback_done = True
        self.max_parallel = 1
        recovery = run.phase.meta.recovery_plan
        self._publish(
            "run.fallback",
            {"phase": run.phase.id, "to": "sequential", "reason": reason, "recovery_plan": recovery},
        )
        self.progress.event(
            f"running the remaining phases one at a time: {reason}"
            + (f" (recovery plan: {recovery})" if recovery else "")
            + "; --no-sequential-fallback turns this off"
        )

    def _append_learning(self, event: LearningEvent) -> None:
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
                self._publish("phase.failed", {**run.payload(0.0), "status": str(status)})
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

    # -- state, events, progress -----------------------------------------------------------------

    def _save(
        self,
        run: PhaseRun,
        status: PhaseStatus,
        *,
        duration: float | None = None,
        activity: Mapping[str, int] | None = None,
    ) -> None:
        total = None
        if run.first_started is not None and status is not PhaseStatus.RUNNING:
            total = round(self.clock() - run.first_started, 3)
        checkpoint = run.checkpoint(
            status,
            plan_name=self.plan.name,
            run_id=self.run_id,
            total_s=total,
            duration=duration,
            activity=activity,
            input_digest=self._digests.get(run.phase.id),
            dependencies=self._dependency_stamps(run.phase.id),
        )
        self._store(run.phase, checkpoint)

    def _store(self, phase: Phase, checkpoint: Checkpoint) -> None:
        stamp = pass_stamp(checkpoint)
        if stamp is not None:
            self._stamps[phase.id] = stamp
        try:
            self.memory.save(phase, checkpoint)
        except OSError as exc:
            self.progress.event(f"warning: cannot write the checkpoint of phase {phase.id}: {exc}")

    def _dependency_stamps(self, phase_id: str) -> dict[str, str]:
        """Which pass of each dependency this phase was built on (see :mod:`~lib.hypervisor.resume`)."""
        return {d: self._stamps[d] for d in self.plan.graph.dependencies(phase_id) if d in self._stamps}

    def _save_skipped(self, phase: Phase) -> None:
        """An interactive skip is saved: the phase counts as done (by hand) on ``--resume`` too."""
        self._store(
            phase,
            Checkpoint(
                plan=self.plan.name,
                phase=phase.id,
                title=phase.title,
                status=PhaseStatus.SKIPPED,
                run_id=self.run_id,
                ended_at=utc_now(),
                phase_digest=phase.digest,
                input_digest=self._digests.get(phase.id),
                dependencies=self._dependency_stamps(phase.id),
                error="skipped by the user in interactive mode (done by hand)",
            ),
        )

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
        running: list[RunningPhase] = []
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
            phases[phase_id] = run.report(str(slot))
        return RunReport(self.run_id, status, phases, self._stop_reason, duration, spend=self._spend)

    def _write_run_record(
        self,
        started: float,
        *,
        final: bool,
        status: RunStatus | None = None,
        report: RunReport | None = None,
    ) -> None:
        record: dict[str, Any] = {
            "run_id": self.run_id,
            "plan": self.plan.name,
            "mode": str(self.options.mode),
            "pid": os.getpid(),
            "status": str(status) if status is not None else "running",
            "started_at": self._run_started_at if final else utc_now(),
            "resume": self.options.resume,
            "phases": list(self._selected),
            "logs": str(self.log_dir),
        }
        if self.options.budget_usd is not None:
            record["budget_usd"] = self.options.budget_usd
        if not final:
            self._run_started_at = record["started_at"]
        else:
            record["ended_at"] = utc_now()
            record["duration_s"] = round(self.clock() - started, 3)
            if self._stop_reason:
                record["reason"] = self._stop_reason
            record["spend"] = self._spend
            if report is not None:
                record["results"] = report.results()
        try:
            self._record_path = write_run_record(self.state_dir, record)
        except OSError as exc:
            self.progress.event(f"warning: cannot write the run record: {exc}")
