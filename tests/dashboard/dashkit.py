"""Helpers of the dashboard tests (a module of its own: test modules import it by name; a
``conftest`` module name is shared by every test folder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hookkit import REPO, HookProject

RECORDING = REPO / "examples" / "recorded-session.jsonl"
RECORDED_ROOT = "/home/user/project"
DESTRUCTIVE = "rm -rf ~/"
FLAKY = "pytest tests/test_api.py"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# what the fake transcript used: claude-sonnet-4-5 at $3 in / $15 out / $3.75 5-minute cache writes /
# $0.30 cache reads per million tokens
TRANSCRIPT_USAGE = [
    {
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_creation_input_tokens": 500,
        "cache_read_input_tokens": 3000,
    },
    {"input_tokens": 50, "output_tokens": 100},
]
TRANSCRIPT_COST = (1050 * 3 + 300 * 15 + 500 * 3.75 + 3000 * 0.3) / 1e6


def chromium_path() -> str:
    """The system Chromium (``$CHROMIUM`` overrides); fails the test when it is not installed."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no chromium: run tests/dashboard/install_chromium.sh (tests/run.sh does)", pytrace=False)


def write_transcript(path: Path, model: str = "claude-sonnet-4-5-20250929") -> Path:
    """A transcript as Claude Code writes it: one line per content block, usage repeated per line."""
    lines: list[dict[str, Any]] = [{"type": "user", "message": {"role": "user", "content": "fix the tests"}}]
    for n, usage in enumerate(TRANSCRIPT_USAGE):
        for block in ("text", "tool_use"):
            lines.append(
                {
                    "type": "assistant",
                    "message": {
                        "id": f"msg_{n}",
                        "model": model,
                        "content": [{"type": block}],
                        "usage": usage,
                    },
                }
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def recorded_payloads(project: Path, session_id: str, transcript: Path) -> list[dict[str, Any]]:
    """The recorded session moved into ``project``, with a denial and a tool that keeps failing added
    before it stops, and the transcript pointing at ``transcript``."""
    payloads = []
    for line in RECORDING.read_text().splitlines():
        if line.strip():
            p = json.loads(line.replace(RECORDED_ROOT, str(project)))
            p["session_id"] = session_id
            if "transcript_path" in p:
                p["transcript_path"] = str(transcript)
            payloads.append(p)
    pre = next(p for p in payloads if p["hook_event_name"] == "PreToolUse" and p["tool_name"] == "Bash")
    fail = next(p for p in payloads if p["hook_event_name"] == "PostToolUseFailure")
    scene = [
        {
            **pre,
            "tool_input": {"command": DESTRUCTIVE, "description": "clean up"},
            "tool_use_id": "toolu_deny_1",
        }
    ]
    for n in range(5):
        use_id = f"toolu_flaky_{n}"
        scene.append({**pre, "tool_input": {"command": FLAKY}, "tool_use_id": use_id})
        scene.append(
            {
                **fail,
                "tool_name": "Bash",
                "tool_input": {"command": FLAKY},
                "tool_use_id": use_id,
                "error": "Exit code 1\nE   ConnectionError: database is not running",
            }
        )
    # the same command once more, nothing changed in between: the open breaker refuses it
    scene.append({**pre, "tool_input": {"command": FLAKY}, "tool_use_id": "toolu_flaky_5"})
    stop_at = next(i for i, p in enumerate(payloads) if p["hook_event_name"] == "Stop")
    return payloads[:stop_at] + scene + payloads[stop_at:]


class FilledProject:
    """A project whose logs and state a recorded session filled."""

    def __init__(self, hooks: HookProject, session_id: str, transcript: Path) -> None:
        self.hooks = hooks
        self.path = hooks.path
        self.session_id = session_id
        self.transcript = transcript

    def fire(self, payload: dict[str, Any]) -> None:
        """Run the hook command for ``payload`` as Claude Code does."""
        result = self.hooks.run(payload)
        assert result.code == 0, result.stderr

    def bash_pre(self, command: str, use_id: str) -> dict[str, Any]:
        """A PreToolUse Bash payload of this session."""
        return {
            "session_id": self.session_id,
            "transcript_path": str(self.transcript),
            "cwd": str(self.path),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "test"},
            "tool_use_id": use_id,
        }


class DashboardProcess:
    """``python -m lib dashboard`` running in a child process."""

    def __init__(self, proc: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.lines = lines
        self.started_in = 0.0


def start_dashboard(project: Path, *extra: str, timeout: float = 20.0) -> DashboardProcess:
    """Start the dashboard of ``project`` on a free port and wait for its URL line."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "--project", str(project), "dashboard", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while time.monotonic() - started < timeout:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.strip().startswith("http://"):
            dash = DashboardProcess(proc, line.strip(), lines)
            dash.started_in = time.monotonic() - started
            return dash
    proc.kill()
    _, err = proc.communicate()
    raise AssertionError(f"the dashboard did not start: {lines} {err}")
