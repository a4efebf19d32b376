"""The dashboard of a project whose state and bus live in Redis: breakers read from Redis, breaker
openings from the stream, and the reset button clearing the breaker there."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from redis_projects import backend_config, hook_project

from lib.cli.dashboard import serve

pytestmark = pytest.mark.redis


def test_the_dashboard_reads_state_and_events_from_redis(redis_url: str, tmp_path: Path) -> None:
    project = hook_project(tmp_path / "project", backend_config(redis_url, fallback_to_file=False))
    base = {"session_id": "redis-session", "cwd": str(project.path), "tool_name": "Bash"}
    for n in range(5):
        pre = {
            **base,
            "hook_event_name": "PreToolUse",
            "tool_input": {"command": "pytest"},
            "tool_use_id": f"t{n}",
        }
        assert project.run(pre).code == 0
        failure = {**pre, "hook_event_name": "PostToolUseFailure", "error": "Exit code 1"}
        assert project.run(failure).code == 0
    assert not (project.path / ".claude" / "state" / "breakers.json").exists()  # the state is in Redis

    server, dashboard = serve(
        argparse.Namespace(project=str(project.path), host="127.0.0.1", port=0, open=False)
    )
    try:
        dashboard.start()
        assert dashboard.loaded.wait(timeout=60)
        data = dashboard.snapshot()
        [opened] = [b for b in data["breakers"] if b["state"] == "open"]
        [session] = data["log_sessions"]
        assert session["failures"] == 5 and session["breaker_openings"] == 1  # from the Redis stream
        assert data["events"] > 0
        done, missing = dashboard.source.reset_breaker(opened["name"])
        assert (done, missing) == ([opened["name"]], [])
        assert not [b for b in dashboard.snapshot()["breakers"] if b["state"] == "open"]
    finally:
        server.server_close()
        dashboard.stop()
