"""The hypervisor's ``claude`` executor driving the real Claude Code CLI (2.1.328) against the mock
Messages API, in a project where ``./install.sh`` installed our hooks.

The plan's phases are prompts; the scripted "model" does the work with Bash. The hypervisor must
read each session's result object, judge the phase by its validation script, retry with the
validation output in the prompt, watch the session's hook events on the project's bus (matched by
the session id it gave Claude), and stop a session whose tools keep tripping circuit breakers.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import toon_format
from claude_session import claude_env
from hookkit import HookProject, alive
from mock_anthropic import MessagesRequest, MockAnthropic, ToolUse, Turn, bash, retry_while_failing

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def write_phase(plan: Path, name: str, frontmatter: str, body: str) -> None:
    plan.mkdir(parents=True, exist_ok=True)
    (plan / name).write_text(f"---\n{textwrap.dedent(frontmatter).strip()}\n---\n{body}")


GIT_ENV = {
    "GIT_AUTHOR_NAME": "E2E",
    "GIT_AUTHOR_EMAIL": "e2e@example.com",
    "GIT_COMMITTER_NAME": "E2E",
    "GIT_COMMITTER_EMAIL": "e2e@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def hv_env(mock: MockAnthropic, home: Path) -> dict[str, str]:
    return claude_env(
        home=home,
        base_url=mock.base_url,
        extra={
            "PYTHONPATH": str(REPO),
            "HYPERVISOR_BACKOFF_BASE": "0.1",
            "HYPERVISOR_BACKOFF_MAX": "0.2",
            "HYPERVISOR_KILL_GRACE": "2",
            **GIT_ENV,  # worktree commits and merges need an identity; set here, not globally
        },
    )


def hv_argv(plan: Path, claude_bin: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lib.hypervisor",
        "run",
        str(plan),
        "--claude-bin",
        str(claude_bin),
        "--allowed-tools",
        "Bash",
        "--timeout",
        "120",
        *args,
    ]


def run_hypervisor(
    plan: Path,
    project: Path,
    claude_bin: Path,
    mock: MockAnthropic,
    home: Path,
    *args: str,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hv_argv(plan, claude_bin, *args),
        cwd=project,
        env=hv_env(mock, home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def checkpoint(plan: Path, phase: str) -> dict[str, Any]:
    data = toon_format.loads((plan / ".hypervisor" / "checkpoints" / f"phase_{phase}.toon").read_text())
    assert isinstance(data, dict)
    return data


def bus(project: Path) -> list[dict[str, Any]]:
    path = project / ".claude" / "logs" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def first_prompt(request: MessagesRequest) -> str:
    return request.text()


def test_claude_phases_run_validate_retry_and_report_their_sessions(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    project = hook_project.path
    plan = tmp_path / "plan"
    write_phase(
        plan,
        "01-greet.md",
        """
        plan: e2e
        phase: 1
        title: Write the greeting
        validation_script: validation/check_greeting.py
        """,
        "# Phase 1\n\nWrite `hello` into greeting.txt.\n",
    )
    write_phase(
        plan,
        "02-copy.md",
        """
        plan: e2e
        phase: 2
        title: Copy the greeting
        depends_on: [1]
        validation_script: validation/check_copy.py
        """,
        "# Phase 2\n\nCopy greeting.txt to copy.txt.\n",
    )
    (plan / "validation").mkdir()
    (plan / "validation" / "check_greeting.py").write_text(
        "import pathlib, sys\n"
        "text = pathlib.Path('greeting.txt').read_text().strip() if pathlib.Path('greeting.txt').exists() else None\n"
        "if text != 'hello':\n"
        "    sys.exit(f'greeting.txt holds {text!r}, expected hello')\n"
    )
    (plan / "validation" / "check_copy.py").write_text(
        "import pathlib, sys\nsys.exit(0 if pathlib.Path('copy.txt').read_text() == 'hello\\n' else 1)\n"
    )

    def model(request: MessagesRequest) -> Turn:
        prompt = first_prompt(request)
        if request.tool_results():
            return "Done."
        if "phase 1 (Write the greeting)" in prompt:
            if "This is attempt 2" in prompt and "expected hello" in prompt:
                return bash("echo hello > greeting.txt", "write the greeting")
            return bash("echo helo > greeting.txt", "write the greeting")  # a typo the check catches
        if "phase 2 (Copy the greeting)" in prompt:
            return bash("cp greeting.txt copy.txt", "copy")
        return "I do not know this phase."

    mock_api.set_script(model)
    proc = run_hypervisor(plan, project, claude_bin, mock_api, claude_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project / "copy.txt").read_text() == "hello\n"

    sessions = [r.session_id for r in mock_api.turn_requests]
    one, two = checkpoint(plan, "1"), checkpoint(plan, "2")
    assert (one["status"], one["attempts"], one["failures"]) == ("passed", 2, 1)
    assert one["executor"] == "claude"
    assert one["executor_result"]["subtype"] == "success"
    assert one["executor_result"]["num_turns"] >= 2
    assert one["session_id"] == sessions[2]  # the passing attempt's session (2 turns per session)
    assert two["session_id"] == sessions[-1]
    assert len(set(sessions)) == 3  # one session per attempt, ids chosen by the hypervisor

    # The retry's prompt carried the failed validation's output.
    retry_prompt = first_prompt(mock_api.turn_requests[2])
    assert "greeting.txt holds 'helo', expected hello" in retry_prompt

    # The hooks Claude Code ran published the session's tool calls on the same bus the hypervisor
    # publishes to, and the hypervisor attributed them to the phase.
    events = bus(project)
    hook_tools = [e for e in events if e["source"] == "hooks" and e["topic"] == "tool.pre"]
    assert {e["session_id"] for e in hook_tools} == set(sessions)
    assert one["hook_activity"]["tool_calls"] == 1 and two["hook_activity"]["tool_calls"] == 1
    ours = [e["topic"] for e in events if e["source"] == "hypervisor"]
    assert ours[0] == "run.started" and ours[-1] == "run.finished"
    assert "phase.retrying" in ours
    learning = [
        json.loads(line) for line in (plan / ".hypervisor" / "learning.jsonl").read_text().splitlines()
    ]
    assert [(e["phase"], e["outcome"]) for e in learning] == [
        ("1", "failed"),
        ("1", "passed"),
        ("2", "passed"),
    ]
    assert all(e["session_id"] in sessions for e in learning)


def test_a_session_tripping_breakers_is_stopped_early_and_the_phase_fails(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    project = hook_project.path
    (project / ".claude" / "hooks.toml").write_text(
        '[runtime]\nhandlers = ["hooks.breaker"]\n\n[breaker]\nmax_failures = 2\ncooldown_seconds = 600\n'
    )
    plan = tmp_path / "plan"
    write_phase(plan, "01-push.md", "phase: 1\ntitle: Push\nmax_attempts: 1", "Push the release.\n")
    failing = "echo attempt >> attempts.log; exit 7"
    mock_api.set_script(retry_while_failing(bash(failing), attempts=40))

    proc = run_hypervisor(plan, project, claude_bin, mock_api, claude_home, "--session-breaker-limit", "1")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    cp = checkpoint(plan, "1")
    assert cp["status"] == "failed" and cp["error_class"] == "session_breakers", cp
    assert cp["hook_activity"]["breaker_trips"] >= 1
    assert cp["hook_activity"]["tool_failures"] >= 2
    assert "keeps tripping circuit breakers" in proc.stdout
    assert len(mock_api.turn_requests) < 40  # stopped long before the script ran out
    opened = [e for e in bus(project) if e["topic"] == "breaker.opened"]
    assert opened and opened[0]["session_id"] == cp["session_id"]


# -- issue 15: crash-exact resume, worktrees, cost and budget ---------------------------------------

USAGE = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_read_input_tokens": 3000,
    "cache_creation_input_tokens": 40,
}


def git(cwd: Path, *args: str) -> str:
    import os

    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def git_project(project: Path) -> None:
    """The hook project as a git checkout (its Claude Code set-up stays untracked, as users have it)."""
    git(project, "init", "-q", "-b", "main")
    (project / "README.md").write_text("base\n")
    git(project, "add", "README.md")
    git(project, "commit", "-qm", "base")


def run_records(plan: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((plan / ".hypervisor" / "runs").glob("*.toon")):
        data = toon_format.loads(path.read_text())
        assert isinstance(data, dict)
        out.append(data)
    return sorted(out, key=lambda r: str(r["started_at"]))


def learning_events(plan: Path) -> list[dict[str, Any]]:
    path = plan / ".hypervisor" / "learning.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sleeping(seconds: str) -> bool:
    """Whether a ``sleep <seconds>`` process is still alive."""
    import os

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"sleep", seconds.encode()] and alive(int(pid)):
            return True
    return False


def test_kill_9_mid_phase_then_resume_never_runs_two_attempts_at_once(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    import signal
    import time

    project = hook_project.path
    plan = tmp_path / "plan"
    write_phase(plan, "01-work.md", "phase: 1\ntitle: Work\nvalidation_script: check.py", "Do the work.\n")
    (plan / "check.py").write_text(
        "import pathlib, sys; sys.exit(0 if pathlib.Path('done.txt').exists() else 1)\n"
    )
    # The first session works for a long time; any later one finishes at once. Each tool call
    # logs its start and end, so an attempt still running next to another would show.
    work = (
        "if [ -f started ]; then echo quick >> work.log; touch done.txt; "
        "else touch started; echo begin >> work.log; sleep 41.5; echo end >> work.log; fi"
    )
    mock_api.set_script(lambda r: "Done." if r.tool_results() else bash(work, "work"))
    proc = subprocess.Popen(
        hv_argv(plan, claude_bin),
        cwd=project,
        env=hv_env(mock_api, claude_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (project / "started").exists():
        assert time.monotonic() < deadline, "the first session never started its work"
        time.sleep(0.1)
    running = checkpoint(plan, "1")
    assert running["status"] == "running"
    orphan = int(running["pid"])
    proc.send_signal(signal.SIGKILL)  # the runner dies; Claude (its own process group) does not
    proc.communicate(timeout=10)
    assert alive(orphan)

    resumed = run_hypervisor(plan, project, claude_bin, mock_api, claude_home, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "stopping it (--orphans kill)" in resumed.stdout
    assert not alive(orphan)
    assert not sleeping("41.5"), "the killed attempt's tool call outlived it"
    time.sleep(1)
    # The killed attempt's work never finished, and nothing ran next to the new attempt.
    assert (project / "work.log").read_text().split() == ["begin", "quick"]
    cp = checkpoint(plan, "1")
    log = cp["attempt_log"]
    assert [e["outcome"] for e in log] == ["crashed", "passed"]
    assert all(e.get("pid") or e.get("pids") for e in log)
    for earlier, later in itertools.pairwise(log):
        assert earlier["ended_at"] <= later["started_at"], log  # no two attempts overlap
    assert log[1]["started_at"] < log[1]["ended_at"]
    crashed = [e for e in learning_events(plan) if e["outcome"] == "crashed"]
    assert len(crashed) == 1 and crashed[0]["pid"] == orphan
    first, second = run_records(plan)
    assert first["status"] == "crashed" and second["status"] == "passed"


def run_parallel_claude_phases(
    plan: Path,
    project: Path,
    claude_bin: Path,
    mock: MockAnthropic,
    home: Path,
    group: str,
    phases: list[tuple[str, str, ToolUse]],
) -> subprocess.CompletedProcess[str]:
    """Make ``project`` a git checkout and run ``plan`` in parallel mode: phase n is the n-th
    ``(title, prompt, call)`` of ``phases``, all in parallel group ``group``; the model answers a
    phase's prompt with its tool call ``call``, then with "Done."."""
    git_project(project)
    for n, (title, prompt, _) in enumerate(phases, 1):
        write_phase(plan, f"0{n}.md", f"phase: {n}\ntitle: {title}\nparallel_group: {group}", f"{prompt}\n")

    def model(request: MessagesRequest) -> Turn:
        if request.tool_results():
            return "Done."
        for _, prompt, call in phases:
            if prompt in request.text():
                return call
        return "?"

    mock.set_script(model)
    return run_hypervisor(plan, project, claude_bin, mock, home, "--mode", "parallel")


def test_parallel_claude_phases_work_in_their_own_worktrees_and_merge_back(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    project, plan = hook_project.path, tmp_path / "plan"
    phases = [
        (f"Write {name}", f"Write {name}.txt.", bash(f"pwd > {name}.txt; sleep 1", f"write {name}"))
        for name in ("alpha", "beta")
    ]
    proc = run_parallel_claude_phases(plan, project, claude_bin, mock_api, claude_home, "parts", phases)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    alpha, beta = (project / "alpha.txt").read_text().strip(), (project / "beta.txt").read_text().strip()
    worktrees = plan / ".hypervisor" / "worktrees"
    assert alpha.startswith(str(worktrees)) and beta.startswith(str(worktrees)) and alpha != beta
    log = git(project, "log", "--format=%s")
    assert "hypervisor: phase 1 (Write alpha)" in log and "hypervisor: phase 2 (Write beta)" in log
    assert not any(worktrees.rglob("alpha.txt"))  # cleaned up after the merge
    assert "hypervisor/" not in git(project, "branch", "--list")
    # The sessions' hooks ran in the worktrees and reported to the project's bus, with the ids.
    hooked = [e for e in bus(project) if e["source"] == "hooks" and e["topic"] == "tool.pre"]
    assert {e["payload"]["hypervisor_phase"] for e in hooked} == {"1", "2"}


def test_parallel_claude_phases_changing_one_file_report_the_conflict(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    project, plan = hook_project.path, tmp_path / "plan"
    phases = [
        (f"Edit {n}", f"Edit as {n}.", bash(f"sleep {delay}; echo version {n} > README.md", "edit"))
        for n, delay in (("1", 0), ("2", 3))
    ]
    proc = run_parallel_claude_phases(plan, project, claude_bin, mock_api, claude_home, "edits", phases)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (project / "README.md").read_text() == "version 1\n"
    cp = checkpoint(plan, "2")
    assert cp["status"] == "failed" and cp["error_class"] == "merge_conflict"
    assert "merge conflict in README.md" in cp["error"] and "git merge hypervisor/" in cp["error"]
    kept = Path(cp["error"].split("kept in the worktree ")[1].split(" on branch")[0])
    assert (kept / "README.md").read_text() == "version 2\n"
    assert "merge conflict in README.md" in proc.stdout


def test_cost_totals_equal_what_the_cli_reported_and_a_run_budget_stops_the_run(
    claude_bin: Path, mock_api: MockAnthropic, claude_home: Path, hook_project: HookProject, tmp_path: Path
) -> None:
    project = hook_project.path
    plan = tmp_path / "plan"
    for n in ("1", "2", "3"):
        deps = f"depends_on: [{int(n) - 1}]\n" if n != "1" else ""
        write_phase(plan, f"0{n}.md", f"phase: {n}\ntitle: Step {n}\n{deps}", f"Do step {n}.\n")
    mock_api.set_script(lambda r: "Done." if r.tool_results() else bash("true", "step"))
    mock_api.set_usage(lambda r: USAGE)

    proc = run_hypervisor(plan, project, claude_bin, mock_api, claude_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [
        json.loads(path.read_text())
        for path in sorted((plan / ".hypervisor" / "logs").rglob("phase_*.attempt-*.log"))
        if not path.name.endswith(("stderr.log", "validation.log"))
    ]
    (record,) = run_records(plan)
    spend = record["spend"]
    assert spend["cost_usd"] == pytest.approx(sum(r["total_cost_usd"] for r in results))
    assert spend["cost_usd"] > 0
    reported = mock_api.reported_usage
    assert spend["input_tokens"] == sum(u.usage["input_tokens"] for u in reported)
    assert spend["output_tokens"] == sum(u.usage["output_tokens"] for u in reported)
    assert spend["cache_read_tokens"] == sum(u.usage["cache_read_input_tokens"] for u in reported)
    assert spend["cache_write_tokens"] == sum(u.usage["cache_creation_input_tokens"] for u in reported)
    models = {u.model for u in reported}
    assert set(spend["models"]) == models
    per_phase = [checkpoint(plan, n)["spend"]["cost_usd"] for n in ("1", "2", "3")]
    assert sum(per_phase) == pytest.approx(spend["cost_usd"])
    assert f"total: ${spend['cost_usd']:.4f}" in proc.stdout

    # A budget a bit over one phase's cost: the second phase could exceed it, so it never starts.
    one = per_phase[0]
    again = run_hypervisor(
        plan, project, claude_bin, mock_api, claude_home, "--max-budget-usd", f"{one * 1.5:.6f}"
    )
    assert again.returncode == 1, again.stdout + again.stderr
    assert "run budget" in again.stdout and "no new attempt started" in again.stdout
    last = run_records(plan)[-1]
    assert last["status"] == "budget_exhausted"
    assert [r["phase"] for r in last["results"] if r["status"] == "passed"] == ["1"]
    assert last["spend"]["cost_usd"] <= one * 1.5
