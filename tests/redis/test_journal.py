"""The reconciliation journal in one process: what the fallback wrote (breaker outcomes, rate-limit
calls, a user's store, events) is replayed into Redis exactly once, in batches, by one process at a
time; a transaction whose commit fails because Redis froze is journaled, not lost."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from redis_backend import Backend
from redis_server import RedisServer, free_port

from lib.backends import backend_settings, describe, status_line
from lib.backends.reconcile import journal_path, pending, replay_pending
from lib.backends.redis_client import execute, reset_clients
from lib.breaker.machine import BreakerParams
from lib.breaker.storage import JsonStoreStorage
from lib.circuit_breaker import CircuitBreaker
from lib.config import validate_config
from lib.rate_limiter import RateLimiter

pytestmark = pytest.mark.redis

PARAMS = BreakerParams(max_failures=3, cooldown_seconds=60.0)


def _redis_side(project: Path, url: str) -> Backend:
    backend = Backend("redis", project, url)
    backend.config = validate_config(
        {"backend": backend.section, "breaker": {"max_failures": 3, "cooldown_seconds": 60}}, environ={}
    )
    return backend


def _doc(url: str, name: str) -> dict[str, Any]:
    import redis

    raw = redis.Redis.from_url(url).get(f"claude-hooks:{{webapp}}:state:{name}")
    return json.loads(raw) if raw else {}


def _outage(project: Path) -> None:
    """Breaker failures, a rate-limit call, a user's store and two events, all while Redis is down."""
    down = Backend("redis", project, f"redis://127.0.0.1:{free_port()}/0", timeout_ms=300)
    breaker = CircuitBreaker(
        "Bash", PARAMS, storage=JsonStoreStorage(down.state("breakers")), fail_open=False
    )
    breaker.record_failure("Exit code 1")
    breaker.record_failure("Exit code 2")
    RateLimiter(down.state("ratelimits")).acquire("Bash", 10, 60.0)
    with down.state("notes").transaction() as state:
        state["seen"] = ["a"]
    down.bus().publish_many([("tool.pre", {"n": 1}), ("tool.failure", {"n": 2})])
    reset_clients()


def test_the_journal_is_replayed_once_and_opens_the_breaker_on_the_combined_count(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "laptop" / "webapp"
    _outage(project)
    err = capsys.readouterr().err
    assert err.count("Redis unavailable") == 1  # once per process, whatever fell back
    journal = project / ".claude" / "state" / "redis-journal.jsonl"
    assert len(journal.read_text().splitlines()) == 6

    other = _redis_side(tmp_path / "runner" / "webapp", redis_url)  # same namespace, nothing journaled
    CircuitBreaker("Bash", PARAMS, storage=JsonStoreStorage(other.state("breakers"))).record_failure("x")
    assert _doc(redis_url, "breakers")["breakers"]["Bash"]["state"] == "closed"

    up = _redis_side(project, redis_url)
    settings = backend_settings(up.paths, up.config)
    assert pending(settings)
    assert replay_pending(settings, limit=2) == 2  # a hook's batch: the rest is left for the next one
    assert replay_pending(settings, limit=None) == 4
    assert not pending(settings) and replay_pending(settings) == 0
    record = _doc(redis_url, "breakers")["breakers"]["Bash"]
    assert record["failures"] == 3 and record["state"] == "open"  # 1 there + 2 replayed
    assert len(_doc(redis_url, "ratelimits")["windows"]["Bash"]["calls"]) == 1
    assert _doc(redis_url, "notes") == {"seen": ["a"]}
    assert [e.topic for e in up.bus().tail()] == ["tool.pre", "tool.failure"]

    os.unlink(str(journal_path(settings)).replace(".jsonl", ".json"))  # the saved position lost
    assert pending(settings)
    assert replay_pending(settings, limit=None) == 0  # every id is known: nothing twice
    assert _doc(redis_url, "breakers")["breakers"]["Bash"]["failures"] == 3
    assert len(list(up.bus().tail())) == 2


def test_the_first_command_of_a_process_replays_and_a_busy_journal_is_left_alone(
    redis_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "webapp"
    _outage(project)
    up = _redis_side(project, redis_url)
    settings = backend_settings(up.paths, up.config)
    from lib.store import open_store

    cursor = open_store(str(project / ".claude" / "state"), "redis-journal")
    with cursor.transaction():  # another process is replaying
        assert replay_pending(settings) == 0
    assert pending(settings)
    assert up.state("notes").read() == {"seen": ["a"]}  # the first command replayed the journal first
    assert not pending(settings)


def test_a_commit_cut_off_by_a_frozen_redis_is_journaled(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "webapp"
    live = Backend("redis", project, redis_url, timeout_ms=300)
    store = live.state("counter")
    with store.transaction() as state:
        state["n"] = 1
    assert redis_server.proc is not None
    with store.transaction() as state:
        state["n"] = 2
        os.kill(redis_server.proc.pid, signal.SIGSTOP)  # frozen between the read and the write
    os.kill(redis_server.proc.pid, signal.SIGCONT)
    assert "Redis unavailable" in capsys.readouterr().err
    reset_clients()
    assert live.state("counter").read() == {"n": 2}  # replayed by this process's first command


def test_status_describes_a_reachable_redis(redis_url: str, tmp_path: Path) -> None:
    backend = Backend("redis", tmp_path / "webapp", redis_url)
    with backend.state("breakers").transaction() as state:
        state["x"] = 1
    info = describe(backend.paths, backend.config)
    assert info["reachable"] and info["stores"] == ["breakers"] and info["server_version"]
    assert status_line(info).startswith(f"Backend: redis {redis_url} (namespace webapp): reachable")
    assert execute(backend_settings(backend.paths, backend.config), "PING") == b"PONG"


def test_a_writer_paused_past_its_lease_is_journaled_and_merged(redis_url: str, tmp_path: Path) -> None:
    project = tmp_path / "webapp"
    live = Backend("redis", project, redis_url)  # fallback on
    slow = live.state("ratelimits", lock_timeout=0.1)  # lease 100 ms
    limiter = RateLimiter(slow)
    with slow.transaction() as state:  # the paused writer records one call ...
        state["windows"] = {"Bash": {"calls": [time.time()], "limit": 10, "window_seconds": 1e9}}
        time.sleep(0.2)
        RateLimiter(live.state("ratelimits")).acquire("Bash", 10, 1e9)  # ... another one took over
    assert len(_doc(redis_url, "ratelimits")["windows"]["Bash"]["calls"]) == 1  # fenced off, not applied
    reset_clients()  # the next process replays the journaled change onto the newer state
    assert limiter.status()[0]["used"] == 2
    assert len(_doc(redis_url, "ratelimits")["windows"]["Bash"]["calls"]) == 2


def test_a_lock_held_past_the_timeout_sends_the_change_through_the_journal(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = Backend("redis", tmp_path / "webapp", redis_url)  # fallback on
    with live.state("counter").transaction() as held:  # another agent holds the document's lock
        held["n"] = 1
        with live.state("counter", lock_timeout=0.05).transaction() as state:
            state["m"] = 2  # not lost: to the file store and the journal
    assert "Redis unavailable" not in capsys.readouterr().err  # Redis is up: no outage to report
    assert _doc(redis_url, "counter") == {"n": 1}
    reset_clients()
    assert live.state("counter").read() == {"n": 1, "m": 2}


def test_status_of_a_down_redis_and_of_an_invalid_config(tmp_path: Path) -> None:
    from lib.backends import describe_project
    from lib.paths import Paths

    down = Backend("redis", tmp_path / "webapp", f"redis://127.0.0.1:{free_port()}/0", timeout_ms=300)
    line = status_line(describe(down.paths, down.config))
    assert "UNREACHABLE (" in line and "refused" in line
    assert line.endswith("; hooks fall back to the file store")
    reset_clients()
    broken = tmp_path / "broken"
    (broken / ".claude").mkdir(parents=True)
    (broken / ".claude" / "hooks.toml").write_text("[backend]\nurl = 42\n")
    info = describe_project(Paths(str(broken)))
    assert info["backend"] == "file" and info["reachable"] and "url" in str(info["config_error"])
    assert "[config error:" in status_line(info)


def test_a_replay_that_cannot_take_a_store_lock_is_retried_later(redis_url: str, tmp_path: Path) -> None:
    project = tmp_path / "webapp"
    _outage(project)
    up = _redis_side(project, redis_url)
    settings = backend_settings(up.paths, up.config)
    strict = Backend("redis", tmp_path / "elsewhere" / "webapp", redis_url, fallback_to_file=False)
    with strict.state("notes", lock_timeout=10.0).transaction() as held:  # another agent holds it
        held["other"] = True
        replay_pending(settings, limit=None)  # gives up on the held store after its lock timeout
        assert _doc(redis_url, "breakers")["breakers"]["Bash"]["failures"] == 2  # the others went in
        assert _doc(redis_url, "notes") == {}
    assert pending(settings)
    assert replay_pending(settings, limit=None) == 1  # the rest, later: nothing twice
    assert _doc(redis_url, "notes") == {"other": True, "seen": ["a"]}
    assert _doc(redis_url, "breakers")["breakers"]["Bash"]["failures"] == 2
