"""The hypervisor's ``claude`` executor driving the real Claude Code CLI (2.1.328) against the mock
Messages API, in a project where ``./install.sh`` installed our hooks.

The plan's phases are prompts; the scripted "model" does the work with Bash. The hypervisor must
read each session's result object, judge the phase by its validation script, retry with the
validation output in the prompt, watch the session's hook events on the project's bus (matched by
the session id it gave Claude), and stop a session whose tools keep tripping circuit breakers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import toon_format
from claude_session import claude_env
from hookkit import HookProject
from mock_anthropic import MessagesRequest, MockAnthropic, Turn, bash, retry_while_failing

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def write_phase(plan: Path, name: str, frontmatter: str, body: str) -> None:
    plan.mkdir(parents=True, exist_ok=True)
    (plan / name).write_text(f"---\n{textwrap.dedent(frontmatter).strip()}\n---\n{body}")


def run_hypervisor(
    plan: Path,
    project: Path,
    claude_bin: Path,
    mock: MockAnthropic,
    home: Path,
    *args: str,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    env = claude_env(
        home=home,
        base_url=mock.base_url,
        extra={
            "PYTHONPATH": str(REPO),
            "HYPERVISOR_BACKOFF_BASE": "0.1",
            "HYPERVISOR_BACKOFF_MAX": "0.2",
            "HYPERVISOR_KILL_GRACE": "2",
        },
    )
    return subprocess.run(
        [
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
        ],
        cwd=project,
        env=env,
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
