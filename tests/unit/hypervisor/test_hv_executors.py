"""Executors: the claude command line and result classification, the shell executor's processes."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from hookkit import alive

from lib.hypervisor.executors import (
    AttemptContext,
    ClaudeExecutor,
    ShellExecutor,
    classify_claude_result,
    find_result_object,
)
from lib.hypervisor.plan import ClaudeOptions, load_plan
from lib.hypervisor.process import AttemptControl


def make_ctx(tmp_path: Path, frontmatter: str, body: str = "Do the thing.\n", **kw: object) -> AttemptContext:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir(exist_ok=True)
    (plan_dir / "p.md").write_text(f"---\n{frontmatter}\n---\n{body}")
    plan = load_plan(plan_dir)
    phase = next(iter(plan.phases.values()))
    data: dict[str, object] = {
        "plan_name": plan.name,
        "phase": phase,
        "attempt": 1,
        "run_id": "r",
        "plan_dir": plan_dir,
        "project_dir": tmp_path,
        "log_dir": tmp_path / "logs",
        "env": dict(os.environ),
        "timeout": None,
        "session_id": "11111111-2222-3333-4444-555555555555",
        "kill_grace": 0.5,
    }
    data.update(kw)
    return AttemptContext(**data)  # type: ignore[arg-type]


# -- result objects ------------------------------------------------------------------------------


def test_the_result_object_is_found_alone_or_after_other_lines() -> None:
    result = b'{"type":"result","subtype":"success","is_error":false,"session_id":"s"}'
    assert find_result_object(result) == {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "session_id": "s",
    }
    noisy = b'warning: something\n{"type":"system"}\n' + result + b"\n"
    assert find_result_object(noisy) is not None
    stream = b'[{"type":"system"},' + result + b"]"
    assert find_result_object(stream) is not None
    assert find_result_object(b"") is None
    assert find_result_object(b"Error: not logged in\n") is None


def test_classification_of_result_objects() -> None:
    assert classify_claude_result({"subtype": "success", "is_error": False})[0] == "success"
    outcome, error, cls = classify_claude_result({"subtype": "error_max_turns", "is_error": True})
    assert (outcome, cls) == ("failed", "error_max_turns") and "error_max_turns" in (error or "")
    overloaded = {
        "subtype": "success",
        "is_error": True,
        "result": 'API Error: 529 {"type":"overloaded_error"}',
    }
    assert classify_claude_result(overloaded)[0] == "transient"
    limited = {"subtype": "success", "is_error": True, "result": "API Error: Rate limit reached"}
    assert classify_claude_result(limited)[2] == "api_overloaded"
    assert classify_claude_result({"is_error": True, "api_error_status": 429})[0] == "transient"
    # An is_error success without an overload is the model's/tool's failure, not transient.
    assert classify_claude_result({"subtype": "success", "is_error": True, "result": "boom"})[0] == "failed"


# -- the claude command line ------------------------------------------------------------------------


def test_the_claude_command_carries_prompt_options_and_session(tmp_path: Path) -> None:
    ctx = make_ctx(
        tmp_path,
        "phase: 1\ntitle: Build\nclaude: {model: opus, max_turns: 9, allowed_tools: 'Bash Edit'}",
    )
    executor = ClaudeExecutor(
        defaults=ClaudeOptions(binary="/opt/claude", model="sonnet", max_budget_usd=2.5)
    )
    argv = executor.command(ctx)
    assert argv[:2] == ["/opt/claude", "-p"]
    assert "Do the thing." in argv[2] and "phase 1 (Build)" in argv[2]
    assert argv[3:5] == ["--output-format", "json"]
    assert argv[argv.index("--session-id") + 1] == ctx.session_id
    assert argv[argv.index("--model") + 1] == "opus"  # the phase overrides the command line
    assert argv[argv.index("--max-turns") + 1] == "9"
    assert argv[argv.index("--max-budget-usd") + 1] == "2.5"
    assert argv[-2:] == ["--allowedTools", "Bash,Edit"]  # variadic option last, one value


def test_a_huge_prompt_goes_through_stdin(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "phase: 1\ntitle: Big", body="x" * 200_000)
    executor = ClaudeExecutor()
    argv = executor.command(ctx)
    assert argv[1] == "-p" and argv[2] == "--output-format"
    assert "on stdin" in executor.describe(ctx)


def test_describe_shows_a_placeholder_for_the_prompt(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "phase: 7\ntitle: T")
    line = ClaudeExecutor(defaults=ClaudeOptions(binary="claude")).describe(ctx)
    assert line.startswith("claude -p <prompt of phase 7: ")
    assert "--output-format json" in line


def test_the_claude_executor_runs_a_cli_and_reads_its_result(tmp_path: Path) -> None:
    fake = tmp_path / "fake-claude"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "$@" > "$(dirname "$0")/argv.txt"\n'
        'echo \'{"type":"result","subtype":"success","is_error":false,"num_turns":3,'
        '"total_cost_usd":0.12,"session_id":"abc","result":"done"}\'\n'
    )
    fake.chmod(0o755)
    ctx = make_ctx(tmp_path, "phase: 1\ntitle: T")
    result = ClaudeExecutor(defaults=ClaudeOptions(binary=str(fake))).run(ctx, AttemptControl())
    assert result.outcome == "success"
    assert result.summary["num_turns"] == 3
    assert result.cost_usd == 0.12
    assert result.session_id == "abc"
    assert "--session-id" in (tmp_path / "argv.txt").read_text()


def test_a_claude_that_prints_no_result_is_a_failure_with_its_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "fake-claude"
    fake.write_text("#!/bin/sh\necho 'Invalid API key' >&2\nexit 1\n")
    fake.chmod(0o755)
    ctx = make_ctx(tmp_path, "phase: 1\ntitle: T")
    result = ClaudeExecutor(defaults=ClaudeOptions(binary=str(fake))).run(ctx, AttemptControl())
    assert result.outcome == "failed"
    assert "without a result object" in (result.error or "") and "Invalid API key" in (result.error or "")


def test_a_missing_claude_binary_is_a_start_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "phase: 1\ntitle: T")
    result = ClaudeExecutor(defaults=ClaudeOptions(binary=str(tmp_path / "nope"))).run(ctx, AttemptControl())
    assert result.outcome == "error" and "cannot start" in (result.error or "")


# -- shell ---------------------------------------------------------------------------------------


def test_shell_commands_run_in_the_project_with_the_phase_env(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "phase: 1\ncommand: 'echo $GREETING > out.txt; pwd'\nenv: {GREETING: hi}")
    env = {**ctx.env, **ctx.phase.meta.env}
    from dataclasses import replace

    result = ShellExecutor().run(replace(ctx, env=env), AttemptControl())
    assert result.outcome == "success"
    assert (tmp_path / "out.txt").read_text() == "hi\n"
    assert str(tmp_path) in result.output_tail


def test_argv_commands_are_not_run_through_a_shell(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, f"phase: 1\ncommand: [{sys.executable!r}, '-c', 'import sys; sys.exit(4)']")
    result = ShellExecutor().run(ctx, AttemptControl())
    assert (result.outcome, result.exit_code) == ("failed", 4)
    assert result.error == "command exited 4"


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    ctx = make_ctx(
        tmp_path,
        f"phase: 1\ncommand: 'sleep 30 & echo $! > {pidfile}; wait'",
        timeout=0.5,
    )
    started = time.monotonic()
    result = ShellExecutor().run(ctx, AttemptControl())
    assert result.outcome == "timeout"
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the background child of the timed-out command survived"


def test_cancellation_stops_the_command_and_says_why(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "phase: 1\ncommand: 'trap \"\" TERM; sleep 30'")
    control = AttemptControl()
    threading.Timer(0.3, control.cancel, args=("interrupted",)).start()
    started = time.monotonic()
    result = ShellExecutor().run(ctx, control)
    # TERM is ignored by the shell, so this also proves the SIGKILL after the grace period.
    assert result.outcome == "interrupted" and result.error == "interrupted"
    assert time.monotonic() - started < 5


def test_each_command_leads_its_own_session_so_ctrl_c_reaches_only_the_hypervisor(tmp_path: Path) -> None:
    script = "import os; print(os.getpid(), os.getpgrp(), os.getsid(0))"
    ctx = make_ctx(tmp_path, f"phase: 1\ncommand: [{sys.executable!r}, '-c', {script!r}]")
    result = ShellExecutor().run(ctx, AttemptControl())
    pid, pgrp, sid = (int(x) for x in result.output_tail.split())
    assert pgrp == pid and sid == pid
    assert pgrp != os.getpgrp()
