"""The breaker hooks (hooks/breaker.py) through ``lib.runtime.run`` in this process: the same flow the
process tests drive by spawning the command, here so that line coverage sees the handler code."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hookkit import payload_for

from lib import runtime

CONFIG = '[runtime]\nhandlers = ["hooks.breaker"]\n[breaker]\nmax_failures = 2\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "hooks.toml").write_text(CONFIG)
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(tmp_path))
    for name in (
        "CLAUDE_HOOKS_STATE_DIR",
        "CLAUDE_HOOKS_LOG_DIR",
        "CLAUDE_HOOKS_CONFIG",
        "CLAUDE_HOOKS_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def fire(payload: dict[str, Any]) -> dict[str, Any] | None:
    out, err = io.StringIO(), io.StringIO()
    code = runtime.run(payload["hook_event_name"], io.BytesIO(json.dumps(payload).encode()), out, err)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue()) if out.getvalue().strip() else None


def bash(event: str, command: str, n: int, **extra: Any) -> dict[str, Any]:
    return payload_for(event, "Bash", tool_input={"command": command}, tool_use_id=f"toolu_{n}", **extra)


def topics(project: Path) -> list[str]:
    path = project / ".claude" / "logs" / "events.jsonl"
    return [json.loads(line)["topic"] for line in path.read_text().splitlines()] if path.exists() else []


def test_open_deny_progress_and_release(project: Path) -> None:
    assert fire(bash("PostToolUseFailure", "pytest -x", 1, error="Exit code 1\nFAILED t")) is None
    opened = fire(bash("PostToolUseFailure", "pytest -x", 2, error="Exit code 1\nFAILED t"))
    assert opened is not None
    assert (
        "`Bash:pytest` has now failed 2 times in a row" in opened["hookSpecificOutput"]["additionalContext"]
    )
    assert "breakers reset 'Bash:pytest'" in opened["systemMessage"]
    denied = fire(bash("PreToolUse", "pytest tests", 3))
    assert denied is not None and denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert fire(bash("PreToolUse", "git status", 4)) is None
    write = payload_for(
        "PostToolUse", "Bash", tool_name="Write", tool_input={"file_path": "a.py", "content": ""}
    )
    assert fire(write) is None
    assert fire(bash("PreToolUse", "pytest tests", 5)) is None  # progress ended the block
    seen = topics(project)
    assert seen.count("breaker.opened") == 1 and "breaker.closed" in seen and "tool.denied" in seen
    batch = payload_for("PostToolBatch", tool_calls=[{"tool_name": "Bash", "tool_use_id": "toolu_5"}, "junk"])
    assert fire(batch) is None
    denied_call = payload_for("PreToolUse", "Bash", hook_event_name="PermissionDenied", tool_use_id="toolu_6")
    assert fire(denied_call | {"reason": "auto mode"}) is None


def test_a_disabled_breaker_does_nothing(project: Path) -> None:
    (project / ".claude" / "hooks.toml").write_text(
        '[runtime]\nhandlers = ["hooks.breaker"]\n[breaker]\nenabled = false\n'
    )
    for n in range(3):
        fire(bash("PostToolUseFailure", "pytest", n, error="Exit code 1"))
    assert fire(bash("PreToolUse", "pytest", 9)) is None
    assert fire(bash("PostToolUse", "pytest", 9)) is None
    assert fire(payload_for("PostToolBatch", tool_calls=[])) is None
    assert not (project / ".claude" / "state" / "breakers.json").exists()
