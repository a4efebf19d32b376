"""What a resume keeps and re-runs (pure), the per-run records, orphaned process groups, the
interactive question and the final report."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lib.hypervisor.checkpoints import Checkpoint, CheckpointRead, PhaseStatus
from lib.hypervisor.interactive import ask_phase, phase_summary
from lib.hypervisor.options import RunStatus
from lib.hypervisor.orphans import group_alive, process_start, settle
from lib.hypervisor.plan import Plan, load_plan
from lib.hypervisor.report import PhaseReport, RunReport, print_report
from lib.hypervisor.resume import input_digest, pass_stamp, plan_resume
from lib.hypervisor.run_record import latest_run, lock_held, mark_crashed, read_runs, write_run_record

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo-plan"


@pytest.fixture
def plan() -> Plan:
    return load_plan(DEMO)


def passed(plan: Plan, phase: str, run: str = "r1", **extra: object) -> CheckpointRead:
    digest = input_digest(plan.phases[phase], plan.directory, plan.directory)
    cp = Checkpoint.model_validate(
        {
            "phase": phase,
            "status": "passed",
            "run_id": run,
            "ended_at": f"t-{run}",
            "phase_digest": plan.phases[phase].digest,
            "input_digest": digest,
            **extra,
        }
    )
    return CheckpointRead(Path(f"/cp/{phase}"), checkpoint=cp)


def all_passed(plan: Plan) -> dict[str, CheckpointRead]:
    reads = {p: passed(plan, p) for p in plan.graph.order}
    for p in plan.graph.order:
        cp = reads[p].checkpoint
        assert cp is not None
        cp.dependencies = {d: "r1@t-r1" for d in plan.graph.dependencies(p)}
    return reads


def digests(plan: Plan) -> dict[str, str]:
    return {p: input_digest(plan.phases[p], plan.directory, plan.directory) for p in plan.graph.order}


def test_everything_passed_and_unchanged_is_skipped(plan: Plan) -> None:
    state = plan_resume(plan, list(plan.graph.order), all_passed(plan), digests(plan), resume=True)
    assert state.skipped == list(plan.graph.order) and not state.reruns
    fresh = plan_resume(plan, list(plan.graph.order), all_passed(plan), digests(plan), resume=False)
    assert fresh.skipped == [] and not fresh.notes


def test_a_changed_input_reruns_the_phase_and_its_dependents(plan: Plan) -> None:
    changed = dict(digests(plan), **{"4": "different"})
    state = plan_resume(plan, list(plan.graph.order), all_passed(plan), changed, resume=True)
    assert state.reruns == {
        "4": "its validation script changed since",
        "6": "phase 4, which it depends on, runs again",
    }
    assert set(state.skipped) == {"1", "2", "3", "5"}


def test_a_dependency_that_passed_again_since_makes_a_phase_stale(plan: Plan) -> None:
    reads = all_passed(plan)
    reads["5"] = passed(plan, "5", run="r2")
    state = plan_resume(plan, ["6"], reads, digests(plan), resume=True)
    assert state.reruns == {"6": "phase 5, which it depends on, passed again since"}
    assert {"4", "5"} <= state.satisfied


def test_an_old_checkpoint_without_input_digest_still_notices_a_file_change(plan: Plan) -> None:
    reads = all_passed(plan)
    old = reads["1"].checkpoint
    assert old is not None
    reads["1"] = CheckpointRead(
        old_path := Path("/cp/1"),
        checkpoint=old.model_copy(update={"input_digest": None, "phase_digest": "x"}),
    )
    state = plan_resume(plan, ["1"], reads, digests(plan), resume=True)
    assert state.reruns == {"1": "its file changed since"} and old_path == reads["1"].path


def test_running_checkpoints_are_crashed_and_their_pid_is_an_orphan(plan: Plan) -> None:
    reads = {p: CheckpointRead(Path(f"/cp/{p}")) for p in plan.graph.order}
    reads["1"] = CheckpointRead(
        Path("/cp/1"),
        checkpoint=Checkpoint(
            phase="1", status=PhaseStatus.RUNNING, pid=42, pid_start=7, attempts=2, run_id="r9"
        ),
    )
    reads["2"] = CheckpointRead(
        Path("/cp/2"), checkpoint=Checkpoint(phase="2", status=PhaseStatus.RETRYING, run_id="r9")
    )
    reads["3"] = CheckpointRead(Path("/cp/3"), problem="junk")
    state = plan_resume(plan, ["2", "3"], reads, digests(plan), resume=True, assume_done=["99"])
    assert state.crashed == ["1", "2"]
    assert [(o.phase, o.pid, o.pid_start, o.attempt, o.run_id) for o in state.orphans] == [
        ("1", 42, 7, 2, "r9")
    ]
    assert "warning: junk" in state.notes and state.quarantine == ["3"]
    assert "99" in state.satisfied
    assert any("depends on phase 1, which is not selected and has not passed" in n for n in state.notes)


def test_pass_stamps_count_skipped_as_done() -> None:
    assert pass_stamp(None) is None
    assert pass_stamp(Checkpoint(phase="1", status=PhaseStatus.FAILED)) is None
    assert pass_stamp(Checkpoint(phase="1", status=PhaseStatus.SKIPPED, run_id="r", ended_at="t")) == "r@t"


def test_run_records_are_kept_per_run_and_a_dead_runner_reads_crashed(tmp_path: Path) -> None:
    assert read_runs(tmp_path) == [] and latest_run(tmp_path) is None
    write_run_record(tmp_path, {"run_id": "a", "status": "passed", "started_at": "1"})
    write_run_record(tmp_path, {"run_id": "b", "status": "running", "started_at": "2", "pid": 1})
    (tmp_path / "runs" / "junk.toon").write_text("- not: [a record\n")
    assert [r["run_id"] for r in read_runs(tmp_path)] == ["a", "b"]
    latest = latest_run(tmp_path)
    assert latest is not None and latest["status"] == "crashed"  # nobody holds the lock
    assert mark_crashed(tmp_path, "c") == ["b"]
    again = latest_run(tmp_path)
    assert again is not None and again["status"] == "crashed" and "found by run c" in again["reason"]
    assert mark_crashed(tmp_path, "d") == []


def test_the_lock_tells_a_live_run_from_a_dead_one(tmp_path: Path) -> None:
    from lib.locking import FileLock

    assert not lock_held(tmp_path)
    lock = FileLock(str(tmp_path / "hypervisor.lock"), timeout=0)
    lock.acquire()
    try:
        write_run_record(tmp_path, {"run_id": "x", "status": "running", "started_at": "1"})
        assert lock_held(tmp_path)
        latest = latest_run(tmp_path)
        assert latest is not None and latest["status"] == "running"
    finally:
        lock.release()
    assert not lock_held(tmp_path)


def group_leader(command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", command], start_new_session=True)


def test_an_orphan_group_is_killed(tmp_path: Path) -> None:
    proc = group_leader("trap '' TERM; sleep 30 & wait")
    said: list[str] = []
    assert process_start(proc.pid) is not None
    assert (
        settle(proc.pid, process_start(proc.pid), wait=False, grace=0.3, say=said.append, what="phase 1")
        == "killed"
    )
    proc.wait(timeout=5)
    assert not group_alive(proc.pid)
    assert "stopping it (--orphans kill)" in said[0]
    assert settle(proc.pid, None, wait=False, grace=0.1, say=said.append, what="phase 1") is None


def test_an_orphan_group_can_be_waited_for(tmp_path: Path) -> None:
    proc = group_leader("sleep 0.5")
    said: list[str] = []
    started = time.monotonic()
    done = settle(
        proc.pid, process_start(proc.pid), wait=True, grace=0.1, say=said.append, what="phase 2", poll=0.05
    )
    assert done == "waited for" and time.monotonic() - started >= 0.3
    assert "waiting for it to end (--orphans wait)" in said[0]
    proc.wait(timeout=5)


def test_a_reused_pid_is_left_alone() -> None:
    proc = group_leader("sleep 5")
    try:
        start = process_start(proc.pid)
        assert start is not None
        assert settle(proc.pid, start + 1, wait=False, grace=0.1, say=print, what="x") is None
        assert group_alive(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert process_start(999_999_999) is None


def test_the_interactive_question_and_summary(plan: Plan) -> None:
    said: list[str] = []
    answers = iter(["what", "S"])
    assert ask_phase(lambda _: next(answers), said.append) == "skip"
    assert said == ["please answer r, s or q (got 'what')"]

    def eof(_: str) -> str:
        raise EOFError

    assert ask_phase(eof, said.append) == "quit"
    assert ask_phase(lambda _: "", said.append) == "run"
    text = phase_summary(plan.phases["4"], "shell")
    assert text.startswith("phase 4: ") and "depends on 2, 3" in text and "validation validation/" in text


def test_the_final_report_shows_costs_and_the_record() -> None:
    out = io.StringIO()
    report = RunReport(
        "r1",
        RunStatus.BUDGET_EXHAUSTED,
        {
            "1": PhaseReport("1", "passed", 1, 2.0, spend={"cost_usd": 0.25}),
            "2": PhaseReport("2", "not run"),
            "3": PhaseReport("3", "failed", 2, 1.0, error="boom\nbang"),
        },
        reason="run budget exhausted",
        spend={"cost_usd": 0.25, "input_tokens": 10},
        summary_path="/s/runs/r1.toon",
    )
    print_report(report, out)
    text = out.getvalue()
    assert "run r1: budget_exhausted (run budget exhausted)" in text
    assert (
        "1  passed, 1 attempt(s), 2.0s, $0.2500" in text
        and "3  failed, 2 attempt(s), 1.0s: boom bang" in text
    )
    assert "total: $0.2500, 10 in / 0 out" in text and "run record: /s/runs/r1.toon" in text
    assert text.endswith("exit code 1\n") and report.exit_code == 1


def test_group_alive_errs_on_the_side_of_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(pgid: int, sig: int) -> None:
        raise PermissionError

    monkeypatch.setattr(os, "killpg", denied)
    assert group_alive(12345)  # someone else's group: alive, and never ours to kill

    def no_proc(path: str) -> list[str]:
        raise OSError

    monkeypatch.setattr(os, "killpg", lambda pgid, sig: None)
    monkeypatch.setattr(os, "listdir", no_proc)
    assert group_alive(12345)  # no /proc to look at: trust the signal


class _BrokenStore:
    def load(self, phase: object) -> CheckpointRead:
        raise AssertionError("not read here")

    def save(self, phase: object, checkpoint: Checkpoint) -> None:
        raise OSError("disk full")


class _BrokenLog:
    path = Path("/nowhere/learning.jsonl")

    def append(self, event: object) -> None:
        raise OSError("disk full")


def test_crash_recovery_says_what_it_cannot_write(plan: Plan, tmp_path: Path) -> None:
    from lib.hypervisor.crash_recovery import recover
    from lib.hypervisor.resume import Orphan, ResumeState

    gone = subprocess.Popen(["true"], start_new_session=True)
    gone.wait()
    running = Checkpoint(phase="1", status=PhaseStatus.RUNNING, pid=gone.pid, attempts=1, run_id="r0")
    reads = {p: CheckpointRead(Path(f"/cp/{p}")) for p in plan.graph.order}
    reads["1"] = CheckpointRead(Path("/cp/1"), checkpoint=running)
    state = ResumeState(crashed=["1", "2"], orphans=[Orphan("1", gone.pid, None, 1, "r0")])
    said: list[str] = []
    events = recover(
        plan=plan,
        state_dir=tmp_path,
        decision=state,
        reads=reads,
        memory=_BrokenStore(),
        learning=_BrokenLog(),  # type: ignore[arg-type]
        run_id="r1",
        wait=False,
        grace=0.1,
        say=said.append,
    )
    assert events == []
    assert any("cannot append to the learning log" in s for s in said)
    assert any("cannot write the checkpoint of phase 1: disk full" in s for s in said)
    assert not any("stopping it" in s for s in said)  # its process was already gone
    crashed = reads["1"].checkpoint
    assert crashed is not None and crashed.status is PhaseStatus.CRASHED and crashed.pid is None
