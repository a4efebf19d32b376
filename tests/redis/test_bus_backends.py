"""The event bus on both backends (the file bus and the Redis stream, opened as a hook opens them):
publish, tail with filters and ``since``, follow, subscribers, durable consumers with redelivery and
saved state; and what only Redis has: MAXLEN trimming, reclaiming a crashed member's events,
publishing to the file bus while Redis is down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from redis_backend import Backend
from redis_clients import run_clients

from lib.event_bus import Event


def test_publish_and_tail_with_filters(backend: Backend) -> None:
    bus = backend.bus(source="test", session_id="s1")
    first = bus.publish("tool.pre", {"tool_name": "Bash"})
    second = bus.publish("tool.failure", {"tool_name": "Bash", "error": "exit 1"}, correlation_id="c2")
    third = bus.publish("breaker.opened", {"key": "Bash"}, session_id="s2")
    assert first.id < second.id < third.id
    events = list(backend.bus().tail())
    assert [(e.id, e.topic) for e in events] == [
        (first.id, "tool.pre"),
        (second.id, "tool.failure"),
        (third.id, "breaker.opened"),
    ]
    assert events[1].payload == {"tool_name": "Bash", "error": "exit 1"}
    assert events[1].source == "test" and events[1].session_id == "s1" and events[1].correlation_id == "c2"
    assert events[0].ts.endswith("Z")
    assert [e.topic for e in backend.bus().tail(topics=["tool.*"])] == ["tool.pre", "tool.failure"]
    assert [e.topic for e in backend.bus().tail(session_id="s2")] == ["breaker.opened"]
    assert [e.id for e in backend.bus().tail(since=first.id)] == [second.id, third.id]
    with pytest.raises(ValueError, match="non-empty word"):
        bus.publish("bad topic")
    bus.close()


def test_subscribers_get_matching_events_and_a_raising_one_breaks_nothing(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = backend.bus()
    seen: list[str] = []
    bus.subscribe("tool.*", lambda e: seen.append(e.topic))
    bus.subscribe("*", lambda e: 1 / 0)  # type: ignore[func-returns-value]
    sub = bus.subscribe("breaker.opened", lambda e: seen.append("breaker!"))
    bus.publish("tool.pre", {})
    sub.cancel()
    bus.publish("breaker.opened", {})
    assert seen == ["tool.pre"]
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert len(list(backend.bus().tail())) == 2  # written despite the raising subscriber


def test_follow_sees_events_published_later_until_stopped(backend: Backend) -> None:
    backend.bus().publish("tool.pre", {"n": 0})
    got: list[Event] = []
    done = threading.Event()

    def follow() -> None:
        for event in backend.bus().tail(follow=True, poll_interval=0.05, stop=done.is_set):
            got.append(event)

    thread = threading.Thread(target=follow)
    thread.start()
    try:
        time.sleep(0.2)
        publisher = backend.bus()
        for n in range(1, 4):
            publisher.publish("tool.post", {"n": n})
        deadline = time.monotonic() + 5
        while len(got) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        done.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [e.payload["n"] for e in got] == [0, 1, 2, 3]


def test_a_durable_consumer_gets_unacknowledged_events_again_and_keeps_its_state(backend: Backend) -> None:
    bus = backend.bus()
    ids = [bus.publish("tool.failure" if n % 2 else "tool.pre", {"n": n}).id for n in range(6)]
    worker = bus.consumer("alerts", topics=["tool.failure"])
    batch = worker.read(limit=2)
    assert [e.payload["n"] for e in batch] == [1, 3]
    assert worker.pending == [ids[1], ids[3]]
    # the process "dies" before acknowledging: a new process gets the same events again
    again = backend.bus().consumer("alerts", topics=["tool.failure"])
    assert [e.payload["n"] for e in again.read(limit=2)] == [1, 3]
    again.state["seen"] = 2
    again.commit()
    assert again.pending == []
    resumed = backend.bus().consumer("alerts", topics=["tool.failure"])
    assert resumed.state == {"seen": 2}  # saved with the acknowledgement
    assert [e.payload["n"] for e in resumed.read()] == [5]
    resumed.ack(ids[5])
    assert resumed.read() == []
    committed = resumed.committed
    assert committed is not None and committed > ids[5]
    bus.publish("tool.failure", {"n": 6})
    assert [e.payload["n"] for e in backend.bus().consumer("alerts", topics=["tool.failure"]).read()] == [6]


def test_a_consumer_reset_starts_over(backend: Backend) -> None:
    bus = backend.bus()
    ids = [bus.publish("tool.pre", {"n": n}).id for n in range(3)]
    consumer = bus.consumer("replay")
    consumer.read()
    consumer.commit()
    assert consumer.read() == []
    consumer.reset()
    assert [e.id for e in consumer.read()] == ids
    consumer.reset(ids[1])
    assert [e.id for e in consumer.read()] == ids[1:]


def test_two_consumers_progress_independently(backend: Backend) -> None:
    bus = backend.bus()
    for n in range(3):
        bus.publish("tool.pre", {"n": n})
    a, b = bus.consumer("a"), bus.consumer("b")
    a.read()
    a.commit()
    assert a.read() == [] and len(b.read()) == 3


@pytest.mark.slow
def test_publishers_in_many_processes_get_unique_increasing_ids(backend: Backend) -> None:
    answers = run_clients(backend, "publish", 6, n=30)
    events = list(backend.bus().tail())
    assert len(events) == 180
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 180
    assert sorted(i for a in answers for i in a["ids"]) == ids  # each publisher got its event's id
    per_source: dict[str, list[int]] = {}
    for event in events:
        per_source.setdefault(event.source, []).append(event.payload["n"])  # type: ignore[arg-type]
    assert all(ns == list(range(30)) for ns in per_source.values())


# -- Redis only ------------------------------------------------------------------------------------


@pytest.fixture
def redis_backend(redis_url: str, tmp_path: Path) -> Backend:
    return Backend("redis", tmp_path / "project", redis_url, fallback_to_file=False, stream_maxlen=100)


@pytest.mark.redis
def test_the_stream_is_bounded_by_maxlen(redis_backend: Backend) -> None:
    bus = redis_backend.bus()
    for n in range(1000):
        bus.publish("tool.pre", {"n": n})
    length = bus.length()
    assert 100 <= length < 400  # MAXLEN ~ trims whole nodes: about 100, never below
    import redis

    assert 0 < redis.Redis.from_url(redis_backend.url).ttl(bus.key) <= 7 * 24 * 3600  # expires unused
    events = list(redis_backend.bus().tail())
    assert events[-1].payload == {"n": 999} and len(events) == length


@pytest.mark.redis
def test_a_crashed_members_events_are_reclaimed_by_another_member(redis_backend: Backend) -> None:
    from lib.backends.redis_bus import RedisConsumer

    bus = redis_backend.with_options(claim_idle_seconds=0.2).bus()
    for n in range(4):
        bus.publish("tool.pre", {"n": n})
    crashed = RedisConsumer(bus, "workers", member="host-a")
    assert len(crashed.read(limit=3)) == 3  # host-a dies holding three events
    survivor = RedisConsumer(bus, "workers", member="host-b")
    assert [e.payload["n"] for e in survivor.read()] == [3]  # not yet stale: only the new one
    survivor.commit()
    time.sleep(0.3)
    reclaimed = survivor.read()
    assert [e.payload["n"] for e in reclaimed] == [0, 1, 2]
    survivor.commit()
    assert survivor.read() == [] and crashed.read() == []  # the reclaimed events left host-a's list
    assert bus.consumers()["workers"]["pending"] == 0


@pytest.mark.redis
def test_publish_falls_back_to_the_file_bus_when_redis_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from redis_server import free_port

    from lib.backends.redis_client import BackendUnavailable, reset_clients

    reset_clients()
    url = f"redis://127.0.0.1:{free_port()}/0"
    lenient = Backend("redis", tmp_path / "project", url)
    warnings: list[str] = []
    bus = lenient.bus(source="hooks", warn=warnings.append)
    bus.publish("tool.pre", {"n": 1})
    bus.publish("tool.post", {"n": 2})
    bus.close()
    file_events = list(Backend("file", tmp_path / "project", "file").bus().tail())
    assert [e.payload["n"] for e in file_events] == [1, 2]
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and len(warnings) == 1
    reset_clients()
    with pytest.raises(BackendUnavailable, match="Redis unavailable"):
        lenient.with_options(fallback_to_file=False).bus().publish("tool.pre", {})
    reset_clients()
