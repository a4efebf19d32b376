"""Redis killed in the middle of a run and restarted: hooks keep answering (falling back to the file
store meanwhile), and nothing Redis acknowledged before the kill is lost.

The server runs with ``appendonly yes`` and ``appendfsync always`` and is stopped with SIGKILL (a
crash, not a shutdown), then started again on the same port and directory.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from hookkit import HookResult, payload_for
from redis_backend import Backend
from redis_projects import backend_config, hook_project
from redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

STORE_KEY = "claude-hooks:{proj}:state:breakers"


def _counted(doc: dict[str, object]) -> int:
    """Failures counted by the one breaker of the failing call (its key and session are the payload's)."""
    records = doc.get("breakers") or {}
    assert isinstance(records, dict)
    return sum(int(r["failures"]) for r in records.values())


def _failures(url: str) -> int:
    import redis

    raw = redis.Redis.from_url(url).get(STORE_KEY)
    return _counted(json.loads(raw)) if raw else 0


def test_hooks_survive_a_redis_crash_and_no_acknowledged_write_is_lost(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", durable=True)
    server.start()
    try:
        config = backend_config(server.url, timeout_ms=150) + "[breaker]\nmax_failures = 1000\n"
        project = hook_project(tmp_path / "proj", config)
        bus_backend = Backend("redis", tmp_path / "proj", server.url, fallback_to_file=False)
        published = [bus_backend.bus().publish("tool.failure", {"n": n}).id for n in range(20)]

        results: list[tuple[float, float, HookResult]] = []
        stop = threading.Event()

        def run_hooks() -> None:  # a Claude session that keeps failing a Bash call
            while not stop.is_set():
                started = time.monotonic()
                result = project.run(payload_for("PostToolUseFailure", "Bash"), timeout=30)
                results.append((started, time.monotonic(), result))

        def finished_since(moment: float) -> int:
            return sum(1 for started, _, _ in list(results) if started > moment)

        def wait_for(count: int, moment: float) -> None:
            deadline = time.monotonic() + 60
            while finished_since(moment) < count:
                assert time.monotonic() < deadline and worker.is_alive(), "hooks stopped answering"
                time.sleep(0.01)

        worker = threading.Thread(target=run_hooks)
        worker.start()
        try:
            wait_for(6, 0.0)
            before_kill = _failures(server.url)
            killed_at = time.monotonic()
            server.kill()
            wait_for(3, killed_at)
            restarting_at = time.monotonic()
            server.start()
            restarted_at = time.monotonic()
            after_restart = _failures(server.url)
            wait_for(3, restarted_at)
        finally:
            stop.set()
            worker.join(timeout=60)

        # every hook answered: exit 0, and stdout empty or one JSON object
        for _, _, result in results:
            assert result.code == 0, result
            assert result.stdout.strip() == "" or isinstance(result.json, dict), result
        # nothing acknowledged before the kill was lost
        assert after_restart >= before_kill > 0
        finished_on_redis = [
            r for s, e, r in results if e < killed_at and "Redis unavailable" not in r.stderr
        ]
        assert after_restart >= len(finished_on_redis)
        stream = list(bus_backend.bus().tail())
        assert [e.id for e in stream][: len(published)] == published
        # the hooks' own events reach the stream too, and those acknowledged before the kill survive it
        hook_failures = [e for e in stream if e.source == "hooks" and e.topic == "tool.failure"]
        assert len(hook_failures) >= len(finished_on_redis)
        # while it was down, the hooks said so (one line each) and kept counting in the file store
        during = [r for s, e, r in results if s > killed_at and e < restarting_at]
        assert during and all(
            len([line for line in r.stderr.splitlines() if "Redis unavailable" in line]) == 1 for r in during
        )
        assert _counted(project.state("breakers")) >= len(during)
        # after the restart the hooks are back on Redis
        after = [r for s, _, r in results if s > restarted_at]
        assert after and all("Redis unavailable" not in r.stderr for r in after)
        assert _failures(server.url) >= after_restart + len(after)
    finally:
        server.stop()
