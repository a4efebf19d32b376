"""The runtime's answer when it cannot judge a deciding event, run in process (the process tests in
tests/process/test_unjudgeable.py drive the installed command)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib import runtime
from lib.registry import registry


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / ".claude").mkdir()
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(tmp_path))
    for name in (
        "CLAUDE_HOOKS_STATE_DIR",
        "CLAUDE_HOOKS_LOG_DIR",
        "CLAUDE_HOOKS_FAIL_MODE",
        "CLAUDE_HOOKS_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    saved = {k: list(v) for k, v in registry._handlers.items()}
    yield tmp_path
    registry._handlers.clear()
    registry._handlers.update(saved)


def run(event: str, payload: dict[str, Any] | bytes) -> tuple[int, str, str]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    out, err = io.StringIO(), io.StringIO()
    code = runtime.run(event, io.BytesIO(data), out, err)
    return code, out.getvalue(), err.getvalue()


def bash_call(project: Path, command: str = "ls", event: str = "PreToolUse") -> dict[str, Any]:
    return {
        "hook_event_name": event,
        "session_id": "s",
        "cwd": str(project),
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }


def handler_file(project: Path, name: str, body: str, budget: float = 10.0) -> None:
    """A user handler module (a new name per test: a module is imported once per process)."""
    (project / f"{name}.py").write_text("from lib import hook, allow\n" + body)
    (project / ".claude" / "hooks.toml").write_text(
        f'[runtime]\nhandlers = ["{name}.py"]\nbudget_seconds = {budget}\ndisabled_builtins = ["breaker", "rate_limit"]\n'
    )


def test_a_guard_over_the_budget_is_asked_and_the_timer_is_gone(project: Path) -> None:
    handler_file(
        project,
        "unjudged_slow",
        "import time\n@hook('PreToolUse', matcher='Bash', name='guards.slow')\n"
        "def slow(e):\n    end = time.monotonic() + 5\n    while time.monotonic() < end:\n        pass\n",
        budget=1.0,
    )
    run("PostToolUse", b"{}")  # config and imports warm: the budget below is the handler's
    t0 = time.monotonic()
    code, out, err = run("PreToolUse", bash_call(project))
    assert time.monotonic() - t0 < 3
    assert code == 0 and "time budget" in err
    answer = json.loads(out)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "ask"
    time.sleep(0.3)  # a timer left armed would fire here and fail the test


def test_an_answer_json_cannot_hold_is_asked_on_a_deciding_event(project: Path) -> None:
    handler_file(
        project,
        "unjudged_odd",
        "@hook('PreToolUse', matcher='Bash')\ndef odd(e):\n    return allow(updated_input={'x': object()})\n"
        "@hook('PostToolUse')\ndef odd2(e):\n    return None\n",
    )
    code, out, err = run("PreToolUse", bash_call(project))
    assert code == 0 and "could not be encoded" in err
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "ask"


def test_a_closed_stdout_does_not_crash_the_hook(project: Path) -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    err = io.StringIO()
    code = runtime.run("PreToolUse", io.BytesIO(b"not json"), Closed(), err)
    assert code == 0 and "not valid JSON" in err.getvalue()


def test_strict_and_closed_deny_what_they_cannot_judge(project: Path) -> None:
    cfg = project / ".claude" / "hooks.toml"
    cfg.write_text('[guards]\nlevel = "strict"\n')
    assert (
        json.loads(run("PreSkillShellCommand", b"{")[1])["hookSpecificOutput"]["permissionDecision"] == "deny"
    )
    cfg.write_text('[runtime]\nfail_mode = "closed"\n')
    reason = json.loads(run("PermissionRequest", b"{")[1])["hookSpecificOutput"]["decision"]["message"]
    assert "fail closed" in reason


def test_oversized_payload_names_the_tool_or_not() -> None:
    assert runtime._names_unguarded_tool(b'{"tool_name": "WebFetch", "x": 1')
    assert not runtime._names_unguarded_tool(b'{"tool_name":"Bash","x"')
    assert not runtime._names_unguarded_tool(b'{"tool_input": {"command": "')  # unknown tool: asked


def test_the_watchdog_is_skipped_off_the_main_thread_and_budget_defaults() -> None:
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(runtime._arm(1.0)))
    thread.start()
    thread.join()
    assert seen == [None]
    runtime._disarm(None)
    assert runtime.budget_of({}) == runtime.BUDGET_SECONDS
    assert runtime.budget_of({"runtime": {"budget_seconds": 2}}) == 2.0
