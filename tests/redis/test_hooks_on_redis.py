"""Hooks spawned as Claude Code spawns them, with ``[backend] url`` pointing at Redis: machines that
share one Redis share breakers and rate limits; a Redis that is down or frozen never blocks a hook
(fallback to the file store, or ``runtime.fail_mode``), with one clear line on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hookkit import payload_for
from redis_projects import backend_config, hook_project
from redis_server import RedisServer, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BREAKER = "[breaker]\nmax_failures = 3\ncooldown_seconds = 60\n"


def failure(**overrides: object) -> dict[str, object]:
    return payload_for("PostToolUseFailure", "Bash", **overrides)


def pre(tool: str = "Bash", **overrides: object) -> dict[str, object]:
    return payload_for("PreToolUse", "Bash", tool_name=tool, **overrides)


def record(state: dict[str, object], key: str) -> dict[str, object]:
    """The one breaker record of ``key`` in a breakers document (the failure payload runs ``exit 3``)."""
    records = state["breakers"]
    assert isinstance(records, dict)
    (found,) = [r for r in records.values() if r["key"] == key]
    return found  # type: ignore[no-any-return]


def warning_lines(stderr: str, needle: str = "Redis unavailable") -> list[str]:
    return [line for line in stderr.splitlines() if needle in line]


def test_two_machines_on_one_redis_share_the_breaker_of_an_external_tool(
    redis_url: str, tmp_path: Path
) -> None:
    config = backend_config(redis_url) + BREAKER
    laptop = hook_project(tmp_path / "laptop" / "webapp", config)
    ci_runner = hook_project(tmp_path / "ci" / "builds" / "webapp", config)  # same checkout name
    unrelated = hook_project(tmp_path / "laptop" / "other", config)
    fetch = {"tool_name": "WebFetch", "tool_input": {"url": "https://api.example.com/", "prompt": "x"}}
    for project, session in ((laptop, "laptop-1"), (ci_runner, "ci-1")):
        result = project.run(
            failure(session_id=session, error="Request failed with status code 503", **fetch)
        )
        assert result.code == 0 and result.json is None, result
    opened = laptop.run(failure(session_id="laptop-2", error="Request failed with status code 503", **fetch))
    assert opened.code == 0
    assert "Circuit breaker" in json.dumps(opened.json)  # the third failure, wherever it ran, opens it
    denied = ci_runner.run(pre("WebFetch", session_id="ci-2", tool_input=fetch["tool_input"]))
    assert denied.decision == "deny" and "across this project's sessions" in denied.reason
    assert unrelated.run(pre("WebFetch", tool_input=fetch["tool_input"])).decision is None  # its own project
    assert ci_runner.run(pre(session_id="ci-2")).decision is None  # Bash is not shared
    assert not (laptop.path / ".claude" / "state" / "breakers.json").exists()  # the state is in Redis
    import redis

    doc = json.loads(redis.Redis.from_url(redis_url).get("claude-hooks:{webapp}:state:breakers"))
    assert doc["breakers"]["WebFetch"]["state"] == "open" and doc["breakers"]["WebFetch"]["scope"] == "shared"


def test_a_project_wide_rate_limit_counts_calls_from_every_machine(redis_url: str, tmp_path: Path) -> None:
    config = (
        backend_config(redis_url)
        + '[rate_limit]\nscope = "project"\n[rate_limit.tools.WebFetch]\ncalls = 2\nwindow_seconds = 60\n'
    )
    one = hook_project(tmp_path / "a" / "proj", config)
    two = hook_project(tmp_path / "b" / "proj", config)
    assert one.run(pre("WebFetch", tool_input={"url": "https://example.com"})).decision is None
    assert two.run(pre("WebFetch", tool_input={"url": "https://example.com"})).decision is None
    third = one.run(pre("WebFetch", tool_input={"url": "https://example.com"}))
    assert third.decision == "deny" and "Rate limit" in third.reason


def test_redis_down_falls_back_to_the_file_store_with_one_line(tmp_path: Path) -> None:
    project = hook_project(tmp_path / "proj", backend_config(f"redis://127.0.0.1:{free_port()}/0") + BREAKER)
    for _ in range(3):
        result = project.run(failure())
        assert result.code == 0
        assert len(warning_lines(result.stderr)) == 1, result.stderr  # one line, not one per store
        assert "fallback_to_file" in result.stderr
    assert record(project.state("breakers"), "Bash:exit")["state"] == "open"  # local state still works
    denied = project.run(pre(tool_input={"command": "exit 3"}))  # the failing command again
    assert denied.code == 0 and denied.decision == "deny"


@pytest.mark.parametrize("fail_mode", ["open", "closed"])
def test_redis_down_without_fallback_answers_with_the_fail_mode(tmp_path: Path, fail_mode: str) -> None:
    config = backend_config(
        f"redis://127.0.0.1:{free_port()}/0", runtime=f'fail_mode = "{fail_mode}"\n', fallback_to_file=False
    )
    project = hook_project(tmp_path / "proj", config)
    result = project.run(pre())
    assert result.code == 0
    assert warning_lines(result.stderr), result.stderr
    if fail_mode == "closed":
        assert result.decision == "deny" and "fail closed" in result.reason
    else:
        assert result.decision is None
    assert not (project.path / ".claude" / "state" / "breakers.json").exists()


def test_a_frozen_redis_does_not_hang_the_hook(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        project = hook_project(tmp_path / "proj", backend_config(server.url, timeout_ms=100) + BREAKER)
        assert project.run(failure()).code == 0
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            result = project.run(failure(), timeout=30)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert result.code == 0
        lines = warning_lines(result.stderr)
        assert len(lines) == 1 and "Timeout" in lines[0], result.stderr
        assert record(project.state("breakers"), "Bash:exit")["consecutive_failures"] == 1  # the fallback
    finally:
        server.stop()


def _status(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))}
    return subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project), "status", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_status_shows_the_backend_and_whether_it_answers(redis_url: str, tmp_path: Path) -> None:
    project = hook_project(tmp_path / "webapp", backend_config(redis_url))
    assert project.run(failure()).code == 0
    shown = _status(project.path)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert first.startswith(f"Backend: redis {redis_url} (namespace webapp): reachable, ") and first.endswith(
        " ms"
    )
    data = json.loads(_status(project.path, "--json").stdout)
    assert data["backend"]["backend"] == "redis" and data["backend"]["reachable"] is True
    assert "breakers" in data["backend"]["stores"]
    # the breaker state shown is Redis's (the project has no breaker file)
    assert not (project.path / ".claude" / "state" / "breakers.json").exists()
    (bash,) = [b for b in data["breakers"] if b["key"] == "Bash:exit"]
    assert bash["consecutive_failures"] == 1
    events = subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project.path), "events", "--json", "--topic", "tool.*"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))},
    )  # fmt: skip
    assert [json.loads(line)["topic"] for line in events.stdout.splitlines()] == ["tool.failure"], (
        events.stderr
    )
    assert not (project.path / ".claude" / "logs" / "events.jsonl").exists()  # the stream, not the file
    port = free_port()
    project.write_config(backend_config(f"redis://:hunter2@127.0.0.1:{port}/0"))
    down = _status(project.path)
    assert down.returncode == 0
    first = down.stdout.splitlines()[0]
    assert first.startswith(
        f"Backend: redis redis://:***@127.0.0.1:{port}/0 (namespace webapp): UNREACHABLE ("
    )
    assert "Connection refused" in first and "fall back to the file store" in first
    assert "hunter2" not in down.stdout + down.stderr


def test_status_on_the_file_backend(tmp_path: Path) -> None:
    project = hook_project(tmp_path / "p", "")
    shown = _status(project.path)
    assert shown.stdout.splitlines()[0] == f"Backend: file ({project.path / '.claude' / 'state'}): reachable"
