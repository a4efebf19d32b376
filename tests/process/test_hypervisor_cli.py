"""``python -m lib.hypervisor`` driven as a user does: a plan folder, a project folder, exit codes,
the files it leaves (checkpoints, learning log, the event bus) and what it prints.

Runs use the shell executor and the demo plan in ``examples/demo-plan`` (six phases: a diamond
1 -> {2, 3} -> 4, a parallel group {2, 3}, phase 4 failing its validation once then passing).
Backoffs are shortened through the environment so the suite stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hvkit import REPO, FakeClaude, Workspace, assert_ok

REFERENCE = REPO / "tests" / "unit" / "hypervisor" / "reference-plan"


# -- the four modes on the demo plan ---------------------------------------------------------------


def test_sequential_runs_every_phase_in_dependency_order_and_retries_the_flaky_one(ws: Workspace) -> None:
    proc = ws.hv("run", "--mode", "sequential")
    assert_ok(proc)
    assert ws.started() == ["1", "2", "3", "5", "4", "4", "6"]
    assert (ws.project / "build" / "demo.tar").is_file()
    for phase in ("1", "2", "3", "5", "6"):
        cp = ws.checkpoint(phase)
        assert (cp["status"], cp["attempts"]) == ("passed", 1)
    four = ws.checkpoint("4")
    assert (four["status"], four["attempts"], four["failures"]) == ("passed", 2, 1)
    assert four["validation"]["exit_code"] == 0
    assert four["validation"]["digest"].startswith("sha256:")
    assert four["phase_digest"]
    assert "phase 4 attempt 1 failed (validation exited 1); retrying in" in proc.stdout
    assert "exit code 0" in proc.stdout
    outcomes = [(e["phase"], e["outcome"]) for e in ws.learning()]
    assert outcomes.count(("4", "failed")) == 1 and outcomes.count(("4", "passed")) == 1
    failed = next(e for e in ws.learning() if e["outcome"] == "failed")
    assert failed["error_class"] == "validation"
    assert "integration cache was cold" in failed["lesson"]


def test_every_transition_is_published_on_the_project_bus(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    topics = [e["topic"] for e in ws.events()]
    assert topics[0] == "run.started" and topics[-1] == "run.finished"
    for topic in ("phase.started", "phase.passed", "phase.retrying"):
        assert topic in topics
    assert "phase.failed" not in topics  # an attempt that will be retried is phase.retrying
    retry = next(e for e in ws.events() if e["topic"] == "phase.retrying")
    assert retry["payload"]["phase"] == "4" and retry["payload"]["error_class"] == "validation"
    finished = ws.events()[-1]["payload"]
    assert (finished["status"], finished["passed"], finished["failed"]) == ("passed", 6, 0)
    assert len({e["payload"]["run_id"] for e in ws.events()}) == 1


def test_an_invalid_hooks_config_does_not_stop_a_run(ws: Workspace) -> None:
    (ws.project / ".claude").mkdir()
    (ws.project / ".claude" / "hooks.toml").write_text("[backend]\nurl = 42\n")
    proc = ws.hv("run")
    assert_ok(proc)
    assert "hooks.toml" in proc.stderr and "publishing run events to the file bus" in proc.stderr
    assert ws.events()[-1]["topic"] == "run.finished"


def test_parallel_starts_a_group_together_and_passes(ws: Workspace) -> None:
    proc = ws.hv("run", "--mode", "parallel", "--max-parallel", "4")
    assert_ok(proc)
    topics = [(e["topic"], e["payload"].get("phase")) for e in ws.events()]
    # The parallel group {2, 3} and the independent phase 5 start before any of them finishes.
    first_done = min(
        i for i, (t, p) in enumerate(topics) if t in ("phase.passed", "phase.failed") and p in ("2", "3", "5")
    )
    assert {p for t, p in topics[:first_done] if t == "phase.started"} == {"1", "2", "3", "5"}
    assert sorted(ws.started()) == ["1", "2", "3", "4", "4", "5", "6"]
    assert all(ws.checkpoint(p)["status"] == "passed" for p in ("1", "2", "3", "4", "5", "6"))


def test_parallel_phases_really_overlap(empty_ws: Workspace) -> None:
    for n in (1, 2, 3):
        empty_ws.write_phase(
            f"{n}.md",
            f"""
            phase: {n}
            title: Sleeper {n}
            command: 'date +%s.%N > start{n}; sleep 1; date +%s.%N > end{n}'
            """,
        )
    assert_ok(empty_ws.hv("run", "--mode", "parallel", "--max-parallel", "3"))
    spans = [
        (
            float((empty_ws.project / f"start{n}").read_text()),
            float((empty_ws.project / f"end{n}").read_text()),
        )
        for n in (1, 2, 3)
    ]
    latest_start = max(s for s, _ in spans)
    earliest_end = min(e for _, e in spans)
    assert latest_start < earliest_end, f"phases ran one after another: {spans}"


def test_max_parallel_one_never_overlaps(empty_ws: Workspace) -> None:
    for n in (1, 2):
        empty_ws.write_phase(
            f"{n}.md",
            f"""
            phase: {n}
            command: 'date +%s.%N > start{n}; sleep 0.2; date +%s.%N > end{n}'
            """,
        )
    assert_ok(empty_ws.hv("run", "--mode", "parallel", "--max-parallel", "1"))
    read = lambda name: float((empty_ws.project / name).read_text())  # noqa: E731
    assert read("end1") <= read("start2")


def test_interactive_asks_before_each_phase(ws: Workspace) -> None:
    # Order 1, 2, 3, 5, 4, 6: run 1, skip 2 (done by hand), run 3 and 5, then quit before 4.
    (ws.project / "build").mkdir()
    (ws.project / "build" / "lexer.out").write_text("tokens: 1\n")
    proc = ws.hv("run", "--mode", "interactive", stdin="r\ns\nr\nrun\nq\n")
    assert_ok(proc, 130)
    assert ws.started() == ["1", "3", "5"]
    assert "phase 1: Prepare the workspace" in proc.stdout
    assert "run, skip or quit? [r/s/q]" in proc.stdout
    assert "phase 2 skipped by you" in proc.stdout
    assert "quit by user" in proc.stdout
    assert ws.checkpoint("2")["status"] == "skipped"  # saved: it counts as done on --resume too
    skipped = [e["payload"] for e in ws.events() if e["topic"] == "phase.skipped"]
    assert {"phase": "2", "reason": "skipped by user"}.items() <= skipped[0].items()
    # Resuming asks again only for the phases not done yet (4, 6): the skip was saved.
    proc = ws.hv("run", "--mode", "interactive", "--resume", stdin="r\nr\n")
    assert_ok(proc)
    assert "phase 2: " not in proc.stdout and "phase 2 skipped" in proc.stdout
    assert "phase 4 (Integrate lexer and parser) started" in proc.stdout


def test_interactive_rejects_unknown_answers_and_quits_at_end_of_input(ws: Workspace) -> None:
    proc = ws.hv("run", "--mode", "interactive", stdin="maybe\n")
    assert_ok(proc, 130)
    assert "please answer r, s or q (got 'maybe')" in proc.stdout
    assert ws.started() == []


def test_dry_run_prints_order_waves_and_commands_and_writes_nothing(ws: Workspace) -> None:
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*"))
    proc = ws.hv("run", "--mode", "dry_run")
    assert_ok(proc)
    assert sorted(p.relative_to(ws.root) for p in ws.root.rglob("*")) == before
    out = proc.stdout
    assert "Order (sequential and interactive modes): 1, 2, 3, 5, 4, 6" in out
    assert "wave 2: 2, 3, 5  [parallel_group build: 2, 3]" in out
    assert "run:        /bin/sh -c 'echo \"tokens: 42\" > build/lexer.out'" in out
    assert f"validate:   {sys.executable} {ws.plan}/validation/check_integration.py" in out
    assert "checkpoint: " in out and "(none yet)" in out


def test_dry_run_shows_the_claude_command_for_prompt_phases(empty_ws: Workspace) -> None:
    empty_ws.write_phase(
        "a.md", "phase: 1\ntitle: Write code\nclaude: {model: opus, max_turns: 12}", "Write it.\n"
    )
    proc = empty_ws.hv(
        "run",
        "--mode",
        "dry_run",
        "--claude-bin",
        "/opt/claude",
        "--allowed-tools",
        "Bash,Edit",
        "--show-prompts",
    )
    assert_ok(proc)
    assert (
        "run:        /opt/claude -p <prompt of phase 1: " in proc.stdout
        and "--output-format json --session-id '<new-session-uuid>' --model opus --max-turns 12 "
        "--allowedTools Bash,Edit"
        in proc.stdout
    )
    assert "    | Write it." in proc.stdout


def test_dry_run_shows_the_lessons_the_real_attempt_gets(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: Write code\nmax_attempts: 1", "Write it.\n")
    fake = empty_ws.root / "fake-claude"
    fake.write_text("#!/bin/sh\necho 'claude ended with an error: the tests are red' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert_ok(empty_ws.hv("run", "--claude-bin", str(fake)), 1)
    proc = empty_ws.hv("run", "--mode", "dry_run", "--show-prompts", "--claude-bin", str(fake))
    assert_ok(proc)
    assert "## Lessons from earlier failures of this phase" in proc.stdout
    assert "attempt 1" in proc.stdout and "without a result object" in proc.stdout


# -- plans that cannot run ------------------------------------------------------------------------------


def test_the_reference_plan_is_invalid_because_phase_14_is_missing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, plan_source=REFERENCE)
    for command in (("check",), ("run",), ("run", "--mode", "dry_run")):
        proc = ws.hv(*command)
        assert_ok(proc, 2)
        errors = [line for line in proc.stderr.splitlines() if line.strip().startswith("error:")]
        assert len(errors) == 1
        assert (
            "05-phase-hypervisor-executable.md: field 'depends_on': phase 15 depends on phase 14" in errors[0]
        )
        assert "--assume-done <id>" in errors[0] and "status: done" in errors[0]
    assert not ws.state.exists()


def test_a_phase_done_elsewhere_is_assumed_done_by_flag_or_by_its_checkpoint(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, plan_source=REFERENCE)
    assert_ok(ws.hv("check", "--assume-done", "14"))
    proc = ws.hv("run", "--mode", "dry_run", "--assume-done", "14")
    assert_ok(proc)
    assert "phase 15:" in proc.stdout
    # Or: a checkpoint of the missing phase saying it is done.
    (ws.state / "checkpoints").mkdir(parents=True)
    (ws.state / "checkpoints" / "phase_14.toon").write_text("phase: 14\nstatus: done\n")
    assert_ok(ws.hv("check"))


def test_a_missing_validation_script_stops_the_run_before_any_attempt(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ncommand: 'touch ran'\nvalidation_script: nope.py")
    proc = empty_ws.hv("run")
    assert_ok(proc, 2)
    assert "a.md: field 'validation_script': 'nope.py' not found in" in proc.stderr
    assert "create it, fix the path, or remove the field" in proc.stderr
    assert not (empty_ws.project / "ran").exists()
    assert not empty_ws.state.exists()


def test_a_run_creates_nothing_in_a_project_without_claude_code(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ncommand: 'true'")
    assert_ok(empty_ws.hv("run"))
    assert list(empty_ws.project.iterdir()) == []  # no .claude/logs, no .claude/state
    assert [e["topic"] for e in empty_ws.events()][-1] == "run.finished"  # in the state folder


def test_a_cycle_is_named_and_nothing_runs(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ncommand: 'touch ran'\ndepends_on: [3]")
    empty_ws.write_phase("b.md", "phase: 2\ncommand: 'touch ran'\ndepends_on: [1]")
    empty_ws.write_phase("c.md", "phase: 3\ncommand: 'touch ran'\ndepends_on: [2]")
    proc = empty_ws.hv("run")
    assert_ok(proc, 2)
    assert "dependency cycle: 1 -> 3 -> 2 -> 1" in proc.stderr
    assert not (empty_ws.project / "ran").exists()


def test_unknown_phase_ids_on_the_command_line_are_usage_errors(ws: Workspace) -> None:
    proc = ws.hv("run", "--only", "99")
    assert_ok(proc, 2)
    assert "unknown phase id 99" in proc.stderr


def test_check_prints_order_and_waves(ws: Workspace) -> None:
    proc = ws.hv("check")
    assert_ok(proc)
    assert "order: 1, 2, 3, 5, 4, 6" in proc.stdout
    assert "wave 3: 4" in proc.stdout


# -- failures -----------------------------------------------------------------------------------------


def broken_lexer(ws: Workspace) -> None:
    path = ws.plan / "02-lexer.md"
    path.write_text(
        path.read_text().replace("command: 'echo \"tokens: 42\" > build/lexer.out'", "command: 'exit 7'")
    )


def test_fail_fast_stops_after_the_first_failed_phase(ws: Workspace) -> None:
    broken_lexer(ws)
    proc = ws.hv("run", "--max-attempts", "2")
    assert_ok(proc, 1)
    assert ws.started() == ["1", "2", "2"]
    cp = ws.checkpoint("2")
    assert (cp["status"], cp["attempts"], cp["error_class"]) == ("failed", 2, "validation")
    assert cp["executor_result"]["exit_code"] == 7
    assert "fail-fast" in proc.stdout
    skipped = {e["payload"]["phase"] for e in ws.events() if e["topic"] == "phase.skipped"}
    assert skipped == {"3", "5", "4", "6"}
    failed = [e["payload"] for e in ws.events() if e["topic"] == "phase.failed"]
    assert [(f["phase"], f["attempt"], f["error"]) for f in failed] == [("2", 2, "validation exited 1")]
    assert ws.events()[-1]["payload"]["status"] == "failed"


def test_keep_going_runs_every_phase_whose_dependencies_passed(ws: Workspace) -> None:
    broken_lexer(ws)
    proc = ws.hv("run", "--keep-going", "--max-attempts", "1")
    assert_ok(proc, 1)
    assert ws.started() == ["1", "2", "3", "5"]
    assert "phase 4 skipped: it depends on failed phase 2" in proc.stdout
    assert "phase 6 skipped: it depends on failed phase 4" not in proc.stdout  # 6 is blocked by 2 too
    assert ws.checkpoint("5")["status"] == "passed"
    assert "  4  skipped (dependency 2 failed)" in proc.stdout


def test_the_circuit_breaker_stops_the_run_after_consecutive_failures(empty_ws: Workspace) -> None:
    for n in range(1, 6):
        empty_ws.write_phase(f"{n}.md", f"phase: {n}\ncommand: 'exit 1'")
    proc = empty_ws.hv("run", "--keep-going", "--max-attempts", "1", "--breaker-threshold", "3")
    assert_ok(proc, 1)
    assert empty_ws.started() == ["1", "2", "3"]
    assert "circuit breaker open: 3 consecutive phase failures" in proc.stdout
    finished = empty_ws.events()[-1]["payload"]
    assert finished["status"] == "breaker_open"


def test_a_timeout_fails_the_attempt_and_kills_the_command(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ncommand: 'sleep 30'\ntimeout: 0.5\nmax_attempts: 1")
    proc = empty_ws.hv("run")
    assert_ok(proc, 1)
    cp = empty_ws.checkpoint("1")
    assert cp["error_class"] == "timeout" and "timed out after 0.5s" in cp["error"]


def test_a_missing_claude_binary_fails_at_once_with_a_clear_error(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: Code", "Write the code.\n")
    proc = empty_ws.hv("run", "--claude-bin", str(empty_ws.root / "no-such-claude"))
    assert_ok(proc, 1)
    cp = empty_ws.checkpoint("1")
    assert (cp["attempts"], cp["error_class"]) == (1, "start_error")  # not retried: it cannot start
    assert "cannot start" in cp["error"] and "no-such-claude" in cp["error"]


def test_an_ordinary_failure_in_parallel_mode_keeps_the_run_parallel(empty_ws: Workspace) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ncommand: 'sleep 0.2; exit 1'\nmax_attempts: 2")
    empty_ws.write_phase("b.md", "phase: 2\ncommand: 'sleep 1'")
    empty_ws.write_phase("c.md", "phase: 3\ncommand: 'sleep 1'")
    proc = empty_ws.hv("run", "--mode", "parallel", "--keep-going")
    assert_ok(proc, 1)
    assert not [e for e in empty_ws.events() if e["topic"] == "run.fallback"]
    order = [(e["topic"], e["payload"].get("phase"), e["payload"].get("attempt")) for e in empty_ws.events()]
    # 1's retry starts while 2 and 3 still run: still parallel.
    assert order.index(("phase.started", "1", 2)) < order.index(("phase.passed", "2", 1))


def test_parallel_phases_blocking_each_other_fall_back_to_sequential(empty_ws: Workspace) -> None:
    empty_ws.write_phase(
        "a.md",
        "phase: 1\ncommand: 'if [ -f retried ]; then exit 0; fi; touch retried; sleep 30'\ntimeout: 0.5\n"
        "max_attempts: 2\nrecovery_plan: 'If parallel execution deadlocks: fall back to sequential mode'",
    )
    empty_ws.write_phase("b.md", "phase: 2\ncommand: 'sleep 1.5'")
    empty_ws.write_phase("c.md", "phase: 3\ncommand: 'sleep 0.1'\ndepends_on: [2]")
    proc = empty_ws.hv("run", "--mode", "parallel", "--keep-going")
    assert_ok(proc)
    fallback = [e["payload"] for e in empty_ws.events() if e["topic"] == "run.fallback"]
    assert fallback and fallback[0]["phase"] == "1" and fallback[0]["to"] == "sequential"
    assert "timed out while other phases ran" in fallback[0]["reason"]
    assert "fall back to sequential mode" in proc.stdout and "--no-sequential-fallback" in proc.stdout
    # After the fallback nothing overlaps: 1's retry waits for 2 (already running) to finish.
    order = [(e["topic"], e["payload"].get("phase"), e["payload"].get("attempt")) for e in empty_ws.events()]
    assert order.index(("phase.passed", "2", 1)) < order.index(("phase.started", "1", 2))
    assert order.index(("phase.passed", "1", 2)) < order.index(("phase.started", "3", 1))
    no_fallback = empty_ws.hv("run", "--mode", "parallel", "--keep-going", "--no-sequential-fallback")
    assert "one at a time" not in no_fallback.stdout


# -- the claude executor with a stand-in CLI ---------------------------------------------------------


def test_overload_results_are_retried_without_counting_as_failures(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: Code\nvalidation_script: check.py", "Write done.txt\n")
    (empty_ws.plan / "check.py").write_text(
        "import pathlib, sys; sys.exit(0 if pathlib.Path('done.txt').exists() else 1)"
    )
    overloaded = {
        "is_error": True,
        "result": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}',
    }
    script = [overloaded, overloaded, {"touch": "done.txt"}]
    proc = empty_ws.run_claude(fake_claude, script, "--breaker-threshold", "1", "--max-attempts", "1")
    assert_ok(proc)
    cp = empty_ws.checkpoint("1")
    assert (cp["status"], cp["attempts"], cp["failures"]) == ("passed", 3, 0)
    assert cp["executor_result"]["num_turns"] == 3 and cp["session_id"]
    assert [e["outcome"] for e in empty_ws.learning()] == ["transient", "transient", "passed"]
    assert "API overloaded or rate limited" in proc.stdout


def test_a_retry_prompt_carries_the_validation_output_and_lessons(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    env = fake_claude[1]
    empty_ws.write_phase(
        "a.md",
        "phase: 1\ntitle: Code\nvalidation_script: check.py\nrecovery_plan: 'Start from a clean tree'",
        "Write done.txt\n",
    )
    (empty_ws.plan / "check.py").write_text(
        "import pathlib, sys\n"
        "if not pathlib.Path('done.txt').exists():\n"
        "    sys.exit('AssertionError: done.txt is missing')\n"
    )
    assert_ok(empty_ws.run_claude(fake_claude, [{}, {"touch": "done.txt"}]))
    prompts = Path(env["FAKE_PROMPTS"])
    first, second = (prompts / "prompt-0.txt").read_text(), (prompts / "prompt-1.txt").read_text()
    assert "Write done.txt" in first and "attempt 2" not in first
    assert "This is attempt 2" in second
    assert "AssertionError: done.txt is missing" in second
    assert "Start from a clean tree" in second
    # A later run of the same phase starts with the lessons of this one.
    (empty_ws.project / "done.txt").unlink()
    Path(env["FAKE_STATE"] + "-1").unlink()
    assert_ok(empty_ws.run_claude(fake_claude, [{"touch": "done.txt"}]))
    third = (prompts / "prompt-0.txt").read_text()
    assert "Lessons from earlier failures of this phase" in third
    assert "AssertionError: done.txt is missing" in third


def test_a_session_that_keeps_tripping_breakers_is_stopped_early(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: Code\nmax_attempts: 1", "Do it\n")
    trips = [["tool.pre", {"tool_name": "Bash"}], ["tool.failure", {"tool_name": "Bash"}]] + [
        ["breaker.opened", {"key": f"Bash:cmd{i}"}] for i in range(3)
    ]
    script = [{"publish": trips, "sleep": 30}]
    proc = empty_ws.run_claude(fake_claude, script, "--session-breaker-limit", "3", timeout=25)
    assert_ok(proc, 1)
    cp = empty_ws.checkpoint("1")
    assert cp["status"] == "failed" and cp["error_class"] == "session_breakers"
    assert cp["hook_activity"]["breaker_trips"] == 3
    assert cp["hook_activity"]["tool_calls"] == 1 and cp["hook_activity"]["tool_failures"] == 1
    assert "keeps tripping circuit breakers" in proc.stdout


# -- status ---------------------------------------------------------------------------------------------


def test_status_shows_each_phase_history_and_flaky_phases(ws: Workspace) -> None:
    before = ws.hv("status")
    assert_ok(before)
    assert "pending" in before.stdout and "no history yet" in before.stdout
    assert_ok(ws.hv("run"))
    proc = ws.hv("status")
    assert_ok(proc)
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line[:1].isdigit()}
    assert "passed" in lines["1"] and "FLAKY" in lines["4"]
    assert "flaky phases (failed and passed in their recent attempts): 4" in proc.stdout
    assert "all phases passed" in proc.stdout
    data = json.loads(ws.hv("status", "--json").stdout)
    four = next(p for p in data["phases"] if p["phase"] == "4")
    assert (four["status"], four["attempts"], four["flaky"]) == ("passed", 2, True)
    assert data["last_run"]["status"] == "passed"


def test_status_gives_an_eta_from_past_durations(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    path = ws.plan / "06-package.md"
    path.write_text(path.read_text() + "\nAlso sign the archive.\n")
    proc = ws.hv("status")
    assert "passed (file changed since)" in proc.stdout
    assert "1 phase(s) to go; ETA ~" in proc.stdout


def test_status_reports_a_crashed_running_phase(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    path = ws.state / "checkpoints" / "phase_6.toon"
    path.write_text(path.read_text().replace("status: passed", "status: running"))
    lines = [line for line in ws.hv("status").stdout.splitlines() if line.startswith("6 ")]
    assert "crashed" in lines[0]
